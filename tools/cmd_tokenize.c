/*
 * cmd_tokenize.c — `vkbridge tokenize`: ids and token strings for texts, one JSON line each.
 *
 * With TEXT arguments each argument is one text. Without, stdin is JSON Lines ({"text": ...}
 * per line, so any character survives); output is streamed: every line of input that has
 * arrived is answered and flushed before the next read blocks, so a caller can feed lines
 * one at a time or pipe in 100k at once.
 */
#include "commands.h"
#include "vkb_tokenizer.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct opts {
    const char *tokenizer;
    int add_special;
    int prefix_space;
    int decode;
} opts;

static void usage(FILE *f)
{
    fprintf(f, "usage: vkbridge tokenize --tokenizer PATH [--no-special] [--prefix-space] [--decode]\n"
               "                         [TEXT...]\n"
               "  PATH: a tokenizer.json, a vocab.txt, a vocab.json (merges.txt beside it), or a\n"
               "        folder holding one of these.\n"
               "  --no-special    leave out [CLS]/[SEP] (<s>/</s>)\n"
               "  --prefix-space  byte-level BPE: add a space before the text (as BERTScore does)\n"
               "  --decode        also write \"decoded\": the ids through the tokenizer's decoder,\n"
               "                  special tokens skipped\n"
               "  Without TEXT, reads JSON Lines {\"text\": \"...\"} on stdin.\n"
               "  Writes one line {\"ids\": [...], \"tokens\": [...]} per text.\n");
}

/* Length of the valid UTF-8 sequence at s, 0 if s does not start one. */
static int utf8_seq(const unsigned char *s)
{
    unsigned c = s[0];
    int n = c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3
                                          : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    for (int i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] > 0x9F) || (c == 0xF0 && s[1] < 0x90) ||
        (c == 0xF4 && s[1] > 0x8F))
        return 0;
    return n;
}

/* Writes the len bytes of s as a JSON string (U+0000 as \u0000); bytes that are not valid
 * UTF-8 (possible only in a vocab.txt entry) become U+FFFD so the output line stays valid
 * JSON. */
static void put_json_string(FILE *f, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    putc('"', f);
    const unsigned char *end = (const unsigned char *)s + len;
    for (const unsigned char *p = (const unsigned char *)s; p < end;) {
        unsigned c = *p;
        int n = c ? utf8_seq(p) : 1;
        if (n > end - p)
            n = 0;
        if (n == 0) {
            fputs("\ufffd", f);
            p++;
        } else if (c == '"' || c == '\\') {
            putc('\\', f);
            putc((int)c, f);
            p++;
        } else if (c < 0x20) {
            fprintf(f, "\\u00%c%c", hex[c >> 4], hex[c & 15]);
            p++;
        } else {
            fwrite(p, 1, (size_t)n, f);
            p += n;
        }
    }
    putc('"', f);
}

static int write_encoding(FILE *f, const vkb_tokenizer *t, const opts *o, const char *text,
                          size_t len)
{
    vkb_encoding e;
    char **toks = NULL;
    size_t *lens = NULL;
    int rc = vkb_tokenizer_encode_tokens_len(t, text, len, o->add_special, 0, &e, &toks, &lens);
    if (rc) {
        fprintf(f, "{\"error\": \"encoding failed (%s)\"}\n", strerror(-rc));
        return rc;
    }
    fputs("{\"ids\": [", f);
    for (int i = 0; i < e.n; i++)
        fprintf(f, i ? ", %d" : "%d", e.ids[i]);
    fputs("], \"tokens\": [", f);
    for (int i = 0; i < e.n; i++) {
        if (i)
            fputs(", ", f);
        put_json_string(f, toks[i], lens[i]);
    }
    fputs("]", f);
    if (o->decode) {
        char *d = vkb_tokenizer_decode(t, e.ids, e.n, 1);
        if (!d) {
            fputs("}\n", f);
            vkb_tokens_free(toks, e.n);
            free(lens);
            vkb_encoding_free(&e);
            fprintf(stderr, "vkbridge tokenize: out of memory decoding\n");
            return -ENOMEM;
        }
        fputs(", \"decoded\": ", f);
        put_json_string(f, d, strlen(d));
        free(d);
    }
    fputs("}\n", f);
    vkb_tokens_free(toks, e.n);
    free(lens);
    vkb_encoding_free(&e);
    return 0;
}

/* One input line: {"text": "..."} -> one output line. */
static int process_line(const vkb_tokenizer *t, const opts *o, const char *line, size_t len,
                        long line_no)
{
    json_error_t jerr;
    json_t *j = json_loadb(line, len, JSON_ALLOW_NUL, &jerr);
    json_t *text = json_object_get(j, "text");
    int rc = 0;
    if (!json_is_string(text)) {
        fprintf(stderr, "vkbridge tokenize: stdin line %ld: %s\n", line_no,
                j ? "no \"text\" string" : jerr.text);
        printf("{\"error\": \"line %ld: expected {\\\"text\\\": string}\"}\n", line_no);
        rc = 1;
    } else if (write_encoding(stdout, t, o, json_string_value(text), json_string_length(text))) {
        rc = 1;
    }
    json_decref(j);
    return rc;
}

/* Reads stdin in chunks, answers every complete line in the chunk, flushes, reads again. */
static int process_stdin(const vkb_tokenizer *t, const opts *o)
{
    size_t cap = 1 << 16, have = 0;
    char *buf = malloc(cap);
    long line_no = 0;
    int failed = 0;
    if (!buf)
        return 1;
    for (;;) {
        if (have == cap) {
            char *b = realloc(buf, cap * 2);
            if (!b) {
                fprintf(stderr, "vkbridge tokenize: out of memory\n");
                failed = 1;
                break;
            }
            buf = b;
            cap *= 2;
        }
        ssize_t r = read(0, buf + have, cap - have);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            fprintf(stderr, "vkbridge tokenize: reading stdin: %s\n", strerror(errno));
            failed = 1;
            break;
        }
        size_t end = have + (size_t)r;
        size_t start = 0;
        for (size_t i = have; i < end; i++) {
            if (buf[i] != '\n')
                continue;
            line_no++;
            if (i > start)
                failed |= process_line(t, o, buf + start, i - start, line_no);
            start = i + 1;
        }
        if (r == 0) { /* end of input: a last line without a newline still counts */
            if (start < end)
                failed |= process_line(t, o, buf + start, end - start, ++line_no);
            break;
        }
        memmove(buf, buf + start, end - start);
        have = end - start;
        fflush(stdout);
    }
    fflush(stdout);
    free(buf);
    return failed;
}

int cmd_tokenize(int argc, char **argv)
{
    opts o = {NULL, 1, -1, 0};
    int first_text = argc;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--tokenizer") && i + 1 < argc) {
            o.tokenizer = argv[++i];
        } else if (!strcmp(argv[i], "--no-special")) {
            o.add_special = 0;
        } else if (!strcmp(argv[i], "--prefix-space")) {
            o.prefix_space = 1;
        } else if (!strcmp(argv[i], "--decode")) {
            o.decode = 1;
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--")) {
            first_text = i + 1;
            break;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "vkbridge tokenize: unknown option '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        } else {
            first_text = i;
            break;
        }
    }
    if (!o.tokenizer) {
        fprintf(stderr, "vkbridge tokenize: --tokenizer PATH is required\n");
        usage(stderr);
        return 2;
    }
    vkb_tokenizer_options topts = {o.prefix_space};
    vkb_tokenizer *t = NULL;
    char err[512];
    if (vkb_tokenizer_load(o.tokenizer, &topts, &t, err, sizeof(err))) {
        fprintf(stderr, "vkbridge tokenize: %s\n", err);
        return 1;
    }
    int failed = 0;
    if (first_text < argc) {
        for (int i = first_text; i < argc; i++)
            failed |= write_encoding(stdout, t, &o, argv[i], strlen(argv[i])) != 0;
        fflush(stdout);
    } else {
        failed = process_stdin(t, &o);
    }
    vkb_tokenizer_free(t);
    return failed ? 1 : 0;
}
