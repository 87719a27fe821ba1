/*
 * tokenizer_testutil.h — what the tokenizer tests share: write a tokenizer file to a temp
 * folder and load it, and compare an encoding's token strings with "a|b|c".
 * (Header-only so it stays out of the tests/helper_*.c library the other suites link.)
 */
#ifndef TOKENIZER_TESTUTIL_H
#define TOKENIZER_TESTUTIL_H

#include "testlib.h"
#include "vkb_tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A fresh temp folder; removed (with the files tests put there) by tt_cleanup. */
static char tt_dir[64];
static char tt_files[32][128];
static int tt_nfiles;

static inline const char *tt_tmpdir(void)
{
    if (!tt_dir[0]) {
        snprintf(tt_dir, sizeof(tt_dir), "/tmp/vkb_tok_test_XXXXXX");
        if (!mkdtemp(tt_dir)) {
            perror("mkdtemp");
            exit(1);
        }
    }
    return tt_dir;
}

/* Writes content to tt_dir/name; returns the path (static storage). */
static inline const char *tt_write(const char *name, const char *content)
{
    char want[128];
    snprintf(want, sizeof(want), "%s/%s", tt_tmpdir(), name);
    char *path = NULL;
    for (int i = 0; i < tt_nfiles && !path; i++)
        if (!strcmp(tt_files[i], want))
            path = tt_files[i];
    if (!path) {
        if (tt_nfiles == 32) {
            fprintf(stderr, "tt_write: too many temp files\n");
            exit(1);
        }
        path = tt_files[tt_nfiles++];
        memcpy(path, want, sizeof(want));
    }
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(content, 1, strlen(content), f) != strlen(content)) {
        perror(path);
        exit(1);
    }
    fclose(f);
    return path;
}

static inline void tt_cleanup(void)
{
    for (int i = 0; i < tt_nfiles; i++)
        unlink(tt_files[i]);
    if (tt_dir[0])
        rmdir(tt_dir);
}

/* Loads a tokenizer from JSON text (written to a file); NULL (and a failed check) if the
 * load fails. prefix_space: -1, 0, 1 as vkb_tokenizer_options. */
static inline vkb_tokenizer *tt_load_json(const char *json, int prefix_space)
{
    const char *path = tt_write("tokenizer.json", json);
    vkb_tokenizer_options o = {prefix_space};
    vkb_tokenizer *t = NULL;
    char err[512];
    if (!CHECK(vkb_tokenizer_load(path, &o, &t, err, sizeof(err)) == 0, "load: %s", err))
        return NULL;
    return t;
}

/* Encodes text (len bytes) and checks the token strings joined with '|' equal want. */
static inline void tt_expect_len(const vkb_tokenizer *t, const char *text, size_t len, int special,
                          const char *want, int line)
{
    if (!t)
        return;
    vkb_encoding e;
    char **toks = NULL;
    int rc = vkb_tokenizer_encode_tokens(t, text, len, special, 0, &e, &toks);
    char got[4096] = "";
    size_t at = 0;
    for (int i = 0; rc == 0 && i < e.n; i++)
        at += (size_t)snprintf(got + at, at < sizeof(got) ? sizeof(got) - at : 0, "%s%s",
                               i ? "|" : "", toks[i]);
    tl_check(rc == 0 && !strcmp(got, want), __FILE__, line, "encode \"%s\": got \"%s\" want \"%s\" (rc %d)",
             text, got, want, rc);
    vkb_tokens_free(toks, e.n);
    vkb_encoding_free(&e);
}

#define TT_EXPECT(t, text, special, want) tt_expect_len(t, text, strlen(text), special, want, __LINE__)

#endif
