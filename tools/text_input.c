/*
 * text_input.c — the texts a command reads, written once for `embed`, `bertscore` and
 * `bench tokenize`, so the same input is accepted or refused the same way everywhere:
 *   JSON Lines: one {"text": "..."} per line ("\n" ends a line; "\r\n" works because "\r" is
 *     JSON whitespace); blank lines are skipped; other keys are ignored; "\u0000" is allowed,
 *     as the service's JSON parser allows it. A bad line is refused, naming it.
 *   Plain lines: Python's text mode, as bert_score's CLI reads its files: "\n", "\r\n" and a
 *     lone "\r" each end a line, a last line without an end counts, blank lines are texts.
 */
#include "commands.h"
#include "vkb_platform.h"
#include "vkb_runtime.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

void text_list_free(text_list *l)
{
    for (int i = 0; i < l->n; i++)
        free(l->text[i]);
    free(l->text);
    free(l->len);
    memset(l, 0, sizeof *l);
}

int text_list_push(text_list *l, const char *s, size_t len)
{
    if (l->n == l->cap) {
        if (l->cap > INT_MAX / 2)
            return VKB_ENOMEM;
        int cap = l->cap ? 2 * l->cap : 64;
        /* Each array is kept once grown, so a failure in the second leaves both valid. */
        char **text = realloc(l->text, sizeof *text * (size_t)cap);
        if (text)
            l->text = text;
        size_t *lens = realloc(l->len, sizeof *lens * (size_t)cap);
        if (lens)
            l->len = lens;
        if (!text || !lens)
            return VKB_ENOMEM;
        l->cap = cap;
    }
    char *copy = malloc(len + 1);
    if (!copy)
        return VKB_ENOMEM;
    if (len)
        memcpy(copy, s, len);
    copy[len] = '\0';
    l->text[l->n] = copy;
    l->len[l->n++] = len;
    return VKB_OK;
}

/* Only JSON whitespace: such a line holds no value and is skipped. */
static int json_blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
            return 0;
    return 1;
}

static int push_json_line(text_list *l, const char *line, size_t len, const char *name,
                          long lineno, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *obj = json_loadb(line, len, JSON_ALLOW_NUL, &jerr);
    json_t *text = json_is_object(obj) ? json_object_get(obj, "text") : NULL;
    int rc;
    if (!json_is_string(text)) {
        snprintf(err, errlen, "%s line %ld: want {\"text\": \"...\"}%s%s", name, lineno,
                 obj ? "" : ": ", obj ? "" : jerr.text);
        rc = VKB_EINVAL;
    } else if ((rc = text_list_push(l, json_string_value(text), json_string_length(text)))) {
        snprintf(err, errlen, "out of memory reading %s", name);
    }
    json_decref(obj);
    return rc;
}

/* Pushes the texts of one getline chunk (its "\n", if any, still on) as Python's text mode
 * splits it: each "\r" ends a text, and so does the "\n" unless a "\r" just did. */
static int push_plain_chunk(text_list *l, const char *chunk, size_t n)
{
    int ended = n > 0 && chunk[n - 1] == '\n';
    if (ended)
        n--;
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        if (chunk[i] != '\r')
            continue;
        int rc = text_list_push(l, chunk + start, i - start);
        if (rc)
            return rc;
        start = i + 1;
    }
    if (start < n || (start == 0 && ended)) /* "\r\n" ends one line, not two */
        return text_list_push(l, chunk + start, n - start);
    return VKB_OK;
}

int text_list_read(FILE *in, const char *name, int jsonl, text_list *l, char *err,
                   size_t errlen)
{
    char *line = NULL;
    size_t cap = 0;
    long long got;
    long lineno = 0;
    int rc = VKB_OK;
    while (rc == VKB_OK && (got = vkb_getline(&line, &cap, in)) >= 0) {
        lineno++;
        if (!jsonl) {
            if ((rc = push_plain_chunk(l, line, (size_t)got)))
                snprintf(err, errlen, "out of memory reading %s", name);
        } else if (!json_blank(line, (size_t)got)) {
            rc = push_json_line(l, line, (size_t)got, name, lineno, err, errlen);
        }
    }
    if (rc == VKB_OK && !feof(in)) { /* getline stopped before the end */
        rc = ferror(in) ? VKB_EIO : VKB_ENOMEM;
        snprintf(err, errlen, rc == VKB_EIO ? "cannot read %s" : "out of memory reading %s",
                 name);
    }
    free(line);
    return rc;
}

int text_list_read_file(const char *path, int jsonl, text_list *l, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return VKB_EIO;
    }
    int rc = text_list_read(f, path, jsonl, l, err, errlen);
    fclose(f);
    return rc;
}
