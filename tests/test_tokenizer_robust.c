/*
 * test_tokenizer_robust.c — the tokenizer on bad and unusual input, and under threads:
 *  - the invalid-UTF-8 rule (one U+FFFD per bad byte, covering that byte);
 *  - the alignment-keeping Unicode normalization forms against utf8proc's own NFD/NFC/NFKD/
 *    NFKC on random strings of tricky code points;
 *  - random byte strings through real tokenizers: no failure, offsets inside the text and
 *    ordered, ids inside the vocabulary, batches equal to single encodes;
 *  - huge words (BPE merging stays fast, WordPiece gives one [UNK], Unigram's lattice stays
 *    linear);
 *  - several threads encoding at once get exactly the single-threaded results.
 * The last three use the shared tokenizers when they exist (SKIP line otherwise).
 */
#include "testlib.h"
#include "tk_internal.h"
#include "vkb_tokenizer.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <utf8proc.h>

static void test_invalid_utf8(void)
{
    static const struct {
        const char *bytes;
        int n_chars;
        uint32_t first_cp;
    } cases[] = {
        {"\xC3", 1, 0xFFFD},             /* truncated 2-byte */
        {"\xE2\x82", 2, 0xFFFD},         /* truncated 3-byte: one per byte */
        {"\xF0\x9F\x98\x80", 1, 0x1F600},/* valid 4-byte */
        {"\xED\xA0\x80", 3, 0xFFFD},     /* a surrogate */
        {"\xC0\xAF", 2, 0xFFFD},         /* overlong */
        {"\xF4\x90\x80\x80", 4, 0xFFFD}, /* above U+10FFFF */
        {"\x80" "a", 2, 0xFFFD},         /* lone continuation byte */
        {"\xFF\xFE", 2, 0xFFFD},
        {"\xE2\x82\xAC", 1, 0x20AC},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        tk_chars c = {0};
        size_t len = strlen(cases[i].bytes);
        CHECK(tk_utf8_decode(cases[i].bytes, len, &c) == 0, "decode");
        CHECK((int)c.n == cases[i].n_chars && c.v[0].cp == cases[i].first_cp,
              "case %zu: %zu chars, first U+%04X", i, c.n, c.n ? c.v[0].cp : 0);
        uint32_t at = 0;
        for (size_t k = 0; k < c.n; k++) {
            CHECK(c.v[k].start == at && c.v[k].end > at, "case %zu: chars tile the input", i);
            at = c.v[k].end;
        }
        CHECK(at == len, "case %zu: all bytes covered", i);
        tk_chars_free(&c);
    }
}

/* Code points that exercise decomposition, reordering and composition. */
static const uint32_t tricky[] = {
    'a', 'e', 'A', 'o', ' ', 0xE9, 0xC5, 0x1E0A, 0x0301, 0x0300, 0x0323, 0x0327, 0x0308, 0x0345,
    0x05B0, 0x094D, 0x3099, 0x309A, 0x304B, 0x30AB, 0xAC00, 0xAC01, 0x1100, 0x1161, 0x11A8,
    0x0B47, 0x0B3E, 0x0B57, 0x0CC6, 0x0CC2, 0x0CD5, 0xFB01, 0x2460, 0xBD, 0x2126, 0x212B, 0x1F71,
    0x0390, 0x03B9, 0x1FBE, 0xFF21, 0x3300, 0xFDFA, 0x1D15E, 0x0F73, 0x0F71, 0x0F72, 0x0F80,
    0x1E9B, 0x0115, 0x1100, 0x1175, 0x11C2, 0xD7A3, 0x2ADC, 0x0338, 0x226E, 0x003C,
};

static void test_normalization_forms(void)
{
    static const struct {
        tk_norm_kind kind;
        utf8proc_option_t opt;
        const char *name;
    } forms[] = {
        {TK_NORM_NFD, UTF8PROC_STABLE | UTF8PROC_DECOMPOSE, "NFD"},
        {TK_NORM_NFC, UTF8PROC_STABLE | UTF8PROC_COMPOSE, "NFC"},
        {TK_NORM_NFKD, UTF8PROC_STABLE | UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT, "NFKD"},
        {TK_NORM_NFKC, UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT, "NFKC"},
    };
    tl_seed(7);
    int bad[4] = {0};
    for (int iter = 0; iter < 3000; iter++) {
        char text[256];
        size_t len = 0;
        int n = 1 + (int)(tl_randu() % 12);
        for (int k = 0; k < n; k++)
            len += (size_t)tk_utf8_encode(tricky[tl_randu() % (sizeof(tricky) / sizeof(tricky[0]))],
                                          text + len);
        text[len] = 0;
        tk_chars in = {0};
        tk_utf8_decode(text, len, &in);
        for (int f = 0; f < 4; f++) {
            tk_chars out = {0};
            CHECK(tk_unorm(forms[f].kind, in.v, in.n, &out) == 0, "tk_unorm");
            utf8proc_uint8_t *want = NULL;
            utf8proc_ssize_t wl = utf8proc_map((const utf8proc_uint8_t *)text, (utf8proc_ssize_t)len,
                                               &want, forms[f].opt);
            char got[1024];
            size_t gl = 0;
            int aligned = 1;
            for (size_t k = 0; k < out.n && gl < sizeof(got) - 4; k++) {
                gl += (size_t)tk_utf8_encode(out.v[k].cp, got + gl);
                aligned &= out.v[k].start < out.v[k].end && out.v[k].end <= len;
            }
            int ok = wl >= 0 && (size_t)wl == gl && !memcmp(want, got, gl) && aligned;
            if (!ok && bad[f]++ < 3)
                CHECK(0, "%s of \"%s\" differs from utf8proc (or an alignment is off)", forms[f].name, text);
            free(want);
            tk_chars_free(&out);
        }
        tk_chars_free(&in);
    }
    CHECK(!bad[0] && !bad[1] && !bad[2] && !bad[3], "normalization mismatches NFD %d NFC %d NFKD %d NFKC %d",
          bad[0], bad[1], bad[2], bad[3]);
}

/* A random string: ASCII words, spaces, multi-byte chars, special-token literals, bad bytes. */
static size_t random_text(char *buf, size_t cap)
{
    static const char *const pieces[] = {
        "hello", " ", "  ", "\t", "\n", "[CLS]", "[MASK]", "<s>", "</s>", "<mask>", " <mask>",
        "caf\xc3\xa9", "\xe4\xb8\xad\xe6\x96\x87", "\xf0\x9f\x98\x80", "'s", "don't", "123",
        "!!", "\xcc\x81", "\xef\xbf\xbd", "\x00", "\xe3\x80\x80", "##", "\xc3", "\xe2\x82", "\xff",
        "\xed\xa0\x80", "\xf4\x90\x80\x80",
    };
    size_t len = 0;
    int n = (int)(tl_randu() % 40);
    for (int i = 0; i < n; i++) {
        if (tl_randu() % 4 == 0) {
            if (len + 1 < cap)
                buf[len++] = (char)(tl_randu() & 0xFF);
            continue;
        }
        const char *p = pieces[tl_randu() % (sizeof(pieces) / sizeof(pieces[0]))];
        size_t pl = strlen(p) ? strlen(p) : 1; /* the "\x00" piece is one NUL byte */
        if (len + pl < cap) {
            memcpy(buf + len, p, pl);
            len += pl;
        }
    }
    return len;
}

static void check_random_inputs(const char *name, const vkb_tokenizer *t)
{
    int failures = 0;
    tl_seed(11);
    for (int iter = 0; iter < 3000 && failures < 5; iter++) {
        char buf[512];
        size_t len = random_text(buf, sizeof(buf));
        vkb_encoding a, b;
        int ok = vkb_tokenizer_encode(t, buf, len, 1, 0, &a) == 0 &&
                 vkb_tokenizer_encode(t, buf, len, 1, 0, &b) == 0;
        ok = ok && a.n == b.n && !memcmp(a.ids, b.ids, (size_t)a.n * 4) && a.n >= 2;
        for (int i = 0; ok && i < a.n; i++)
            ok = a.ids[i] >= 0 && a.ids[i] < vkb_tokenizer_vocab_size(t) &&
                 a.offsets[2 * i] <= a.offsets[2 * i + 1] && a.offsets[2 * i + 1] <= len;
        if (ok) {
            char *s = vkb_tokenizer_decode(t, a.ids, a.n, 1);
            ok = s != NULL;
            free(s);
        }
        if (ok && iter % 10 == 0) { /* a batch equals the single encodes */
            const char *texts[2] = {buf, "hello"};
            size_t lens[2] = {len, 5};
            vkb_batch_encoding be;
            ok = vkb_tokenizer_encode_batch(t, texts, lens, 2, 1, 0, 0, &be) == 0 &&
                 be.lengths[0] == a.n && !memcmp(be.ids, a.ids, (size_t)a.n * 4);
            vkb_batch_encoding_free(&be);
        }
        if (!ok)
            failures++;
        CHECK(ok, "%s: random input %d (%zu bytes) broke an invariant", name, iter, len);
        vkb_encoding_free(&a);
        vkb_encoding_free(&b);
    }
}

/* CPU time of this process: what the check below bounds, whatever else the machine runs. */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void check_huge_words(const vkb_tokenizer *bert, const vkb_tokenizer *roberta)
{
    size_t n = 2u << 20;
    char *s = malloc(n);
    for (size_t i = 0; i < n; i++)
        s[i] = (char)('a' + (i * 7 + i / 13) % 26); /* one word, no spaces, varied letters */
    vkb_encoding e;
    double t0 = cpu_now();
    CHECK(vkb_tokenizer_encode(bert, s, n, 1, 0, &e) == 0 && e.n == 3 && e.ids[1] == 100,
          "a 2 MB word is one [UNK] for WordPiece");
    vkb_encoding_free(&e);
    CHECK(vkb_tokenizer_encode(roberta, s, n, 1, 0, &e) == 0 && e.n > 2, "a 2 MB word through BPE");
    double secs = cpu_now() - t0;
    char *d = vkb_tokenizer_decode(roberta, e.ids, e.n, 1);
    CHECK(d && strlen(d) == n && !memcmp(d, s, n), "the 2 MB word decodes back");
    free(d);
    vkb_encoding_free(&e);
    /* Linear-ish work takes well under a second (a minute under TSan); merging the 2 MB word
     * pair by pair from scratch each time would take hours. */
    CHECK(secs < 120, "huge words took %.1f s of CPU", secs);
    free(s);
}

/* A 2 MB word through a Unigram tokenizer: one lattice of 2 MB positions, each trying the
 * pieces that start there (bounded by the longest piece), so the work is linear. */
static void check_huge_unigram_word(const vkb_tokenizer *t)
{
    size_t n = 2u << 20;
    char *s = malloc(n);
    for (size_t i = 0; i < n; i++)
        s[i] = (char)('a' + (i * 7 + i / 13) % 26);
    vkb_encoding e;
    double t0 = cpu_now();
    int rc = vkb_tokenizer_encode(t, s, n, 1, 0, &e);
    double secs = cpu_now() - t0;
    CHECK(rc == 0 && e.n > 2, "a 2 MB word through Unigram (rc %d)", rc);
    char *d = rc == 0 ? vkb_tokenizer_decode(t, e.ids, e.n, 1) : NULL;
    CHECK(d && strlen(d) == n && !memcmp(d, s, n), "the 2 MB Unigram word decodes back");
    free(d);
    CHECK(secs < 120, "the huge Unigram word took %.1f s of CPU", secs);
    vkb_encoding_free(&e);
    free(s);
}

/* ---- threads ---- */

typedef struct job {
    const vkb_tokenizer *t;
    char **texts;
    size_t *lens;
    int n;
    int32_t **want;
    int *want_n;
    int mismatches;
} job;

static void *run_job(void *arg)
{
    job *j = arg;
    for (int rep = 0; rep < 3; rep++)
        for (int i = 0; i < j->n; i++) {
            vkb_encoding e;
            if (vkb_tokenizer_encode(j->t, j->texts[i], j->lens[i], 1, 0, &e) ||
                e.n != j->want_n[i] || memcmp(e.ids, j->want[i], (size_t)e.n * 4))
                j->mismatches++;
            vkb_encoding_free(&e);
        }
    return NULL;
}

static void check_threads(const char *name, const vkb_tokenizer *t, const char *golden)
{
    FILE *f = fopen(golden, "r");
    if (!CHECK(f != NULL, "open %s", golden))
        return;
    int cap = 4096, n = 0;
    char **texts = calloc((size_t)cap, sizeof(char *));
    size_t *lens = calloc((size_t)cap, sizeof(size_t));
    int32_t **want = calloc((size_t)cap, sizeof(int32_t *));
    int *want_n = calloc((size_t)cap, sizeof(int));
    char *line = NULL;
    size_t lcap = 0;
    while (n < cap && getline(&line, &lcap, f) > 0) {
        json_t *j = json_loads(line, JSON_ALLOW_NUL, NULL);
        json_t *text = json_object_get(j, "text");
        if (json_is_string(text)) {
            lens[n] = json_string_length(text);
            texts[n] = malloc(lens[n] + 1);
            memcpy(texts[n], json_string_value(text), lens[n] + 1);
            vkb_encoding e;
            vkb_tokenizer_encode(t, texts[n], lens[n], 1, 0, &e);
            want[n] = e.ids;
            want_n[n] = e.n;
            e.ids = NULL;
            vkb_encoding_free(&e);
            n++;
        }
        json_decref(j);
    }
    free(line);
    fclose(f);
    enum { THREADS = 4 };
    pthread_t th[THREADS];
    job jobs[THREADS];
    for (int i = 0; i < THREADS; i++) {
        jobs[i] = (job){t, texts, lens, n, want, want_n, 0};
        pthread_create(&th[i], NULL, run_job, &jobs[i]);
    }
    int mism = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        mism += jobs[i].mismatches;
    }
    printf("%s: %d threads x %d texts x 3, %d mismatches\n", name, THREADS, n, mism);
    CHECK(n > 0 && mism == 0, "%s: threads disagree with the single-threaded ids", name);
    for (int i = 0; i < n; i++) {
        free(texts[i]);
        free(want[i]);
    }
    free(texts);
    free(lens);
    free(want);
    free(want_n);
}

int main(void)
{
    test_invalid_utf8();
    test_normalization_forms();
    const char *td = tl_testdata("tokenizer robustness on the shared tokenizers");
    if (td) {
        char p1[4096], p2[4096], g1[4096], g2[4096];
        snprintf(p1, sizeof(p1), "%s/tokenizers/bert-base-uncased/tokenizer.json", td);
        snprintf(p2, sizeof(p2), "%s/tokenizers/roberta-base/tokenizer.json", td);
        snprintf(g1, sizeof(g1), "%s/tokenizers/golden-bert-base-uncased.jsonl", td);
        snprintf(g2, sizeof(g2), "%s/tokenizers/golden-roberta-base.jsonl", td);
        vkb_tokenizer *bert = NULL, *roberta = NULL;
        char err[512];
        CHECK(vkb_tokenizer_load(p1, NULL, &bert, err, sizeof(err)) == 0, "%s", err);
        CHECK(vkb_tokenizer_load(p2, NULL, &roberta, err, sizeof(err)) == 0, "%s", err);
        if (bert && roberta) {
            check_random_inputs("bert", bert);
            check_random_inputs("roberta", roberta);
            check_huge_words(bert, roberta);
            check_threads("bert threads", bert, g1);
            check_threads("roberta threads", roberta, g2);
        }
        vkb_tokenizer_free(bert);
        vkb_tokenizer_free(roberta);
        /* Unigram: the charsmap, regexes and the word cache under random bytes and threads */
        static const char *const uni[] = {"unigram-xlmr-like", "unigram-deberta-v3-like"};
        for (int i = 0; i < 2; i++) {
            snprintf(p1, sizeof(p1), "%s/tokenizers/%s/tokenizer.json", td, uni[i]);
            snprintf(g1, sizeof(g1), "%s/tokenizers/golden-%s.jsonl", td, uni[i]);
            vkb_tokenizer *u = NULL;
            if (!CHECK(vkb_tokenizer_load(p1, NULL, &u, err, sizeof(err)) == 0, "%s", err))
                continue;
            check_random_inputs(uni[i], u);
            check_threads(uni[i], u, g1);
            if (i == 0)
                check_huge_unigram_word(u);
            vkb_tokenizer_free(u);
        }
    }
    return tl_finish();
}
