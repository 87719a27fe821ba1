/*
 * test_bertscore_cli.c — `vkbridge bertscore` end to end against bert_score's numbers
 * (../shared/testdata/oracle/tiny-*.json): every case through --jsonl --json on the CPU and
 * on Vulkan, every case through plain one-sentence-per-line files with the hash line and the
 * system-level means, the command's refusals (missing baseline, unequal files, bad
 * options, a model outside the num_layers table), and --jsonl texts holding \u0000 scored
 * whole.
 */
#include "testlib.h"
#include "vkb_runtime.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char scratch[256];

/* Writes the strings of arr to path, one per line (jsonl: as {"text": ...}). */
static int write_lines(const char *path, json_t *arr, int jsonl)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    size_t i;
    json_t *s;
    json_array_foreach(arr, i, s) {
        if (jsonl) {
            json_t *o = json_pack("{sO}", "text", s);
            char *line = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
            fprintf(f, "%s\n", line);
            free(line);
            json_decref(o);
        } else {
            fprintf(f, "%s\n", json_string_value(s));
        }
    }
    return fclose(f);
}

/* Runs the shell command, returns its exit status; stdout into out (malloc'd). */
static int run(const char *cmd, char **out)
{
    FILE *p = popen(cmd, "r");
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    if (!p || !buf) {
        free(buf);
        if (p)
            pclose(p);
        *out = NULL;
        return -1;
    }
    for (size_t got; (got = fread(buf + n, 1, cap - n - 1, p)) > 0;) {
        n += got;
        if (n + 1 == cap) {
            char *bigger = realloc(buf, cap * 2);
            if (!bigger)
                break;
            buf = bigger;
            cap *= 2;
        }
    }
    buf[n] = '\0';
    int st = pclose(p);
    *out = buf;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static double tolerance(json_t *c, int k)
{
    json_t *b = json_object_get(c, "baseline");
    return b ? 1e-4 / (1.0 - json_number_value(json_array_get(b, (size_t)k))) : 1e-4;
}

static void options(json_t *req, char *opt, size_t len)
{
    snprintf(opt, len, "-l %d%s%s --lang %s",
             (int)json_integer_value(json_object_get(req, "num_layers")),
             json_is_true(json_object_get(req, "idf")) ? " --idf" : "",
             json_is_true(json_object_get(req, "rescale_with_baseline")) ? " --rescale" : "",
             json_string_value(json_object_get(req, "lang")));
}

static void check_json_case(const char *model_dir, json_t *c, const char *device,
                            const char *where)
{
    json_t *req = json_object_get(c, "request");
    char cands[300], refs[300], opt[128], cmd[2048];
    snprintf(cands, sizeof cands, "%s/c.jsonl", scratch);
    snprintf(refs, sizeof refs, "%s/r.jsonl", scratch);
    write_lines(cands, json_object_get(req, "candidates"), 1);
    write_lines(refs, json_object_get(req, "references"), 1);
    options(req, opt, sizeof opt);
    snprintf(cmd, sizeof cmd, "'%s' bertscore -m '%s' -c '%s' -r '%s' --jsonl --json %s "
             "--device %s 2>/dev/null", tl_binary(), model_dir, cands, refs, opt, device);
    char *out = NULL;
    int st = run(cmd, &out);
    json_t *got = out ? json_loads(out, 0, NULL) : NULL;
    if (CHECK(st == 0 && got, "%s: exit %d, output %.200s", where, st, out ? out : "")) {
        const char *keys[3] = {"P", "R", "F"}, *resp[3] = {"precision", "recall", "f1"};
        for (int k = 0; k < 3; k++) {
            json_t *want = json_object_get(c, keys[k]), *have = json_object_get(got, resp[k]);
            CHECK(json_array_size(have) == json_array_size(want), "%s: %s has %zu values",
                  where, resp[k], json_array_size(have));
            for (size_t i = 0; i < json_array_size(want) && i < json_array_size(have); i++) {
                double a = json_number_value(json_array_get(have, i));
                double b = json_number_value(json_array_get(want, i));
                CHECK(fabs(a - b) <= tolerance(c, k), "%s: %s[%zu] = %.7f, want %.7f", where,
                      resp[k], i, a, b);
            }
        }
        const char *model = json_string_value(json_object_get(got, "model"));
        CHECK(model && !strcmp(model, json_string_value(json_object_get(req, "model_type"))),
              "%s: model %s", where, model ? model : "(none)");
    }
    json_decref(got);
    free(out);
}

static double mean(json_t *arr)
{
    double s = 0;
    for (size_t i = 0; i < json_array_size(arr); i++)
        s += json_number_value(json_array_get(arr, i));
    return s / (double)json_array_size(arr);
}

/* Plain files and the default output: "<hash> P: x R: y F1: z". */
static void check_plain_case(const char *model_dir, json_t *c, const char *where)
{
    json_t *req = json_object_get(c, "request");
    char cands[300], refs[300], opt[128], cmd[2048];
    snprintf(cands, sizeof cands, "%s/c.txt", scratch);
    snprintf(refs, sizeof refs, "%s/r.txt", scratch);
    write_lines(cands, json_object_get(req, "candidates"), 0);
    write_lines(refs, json_object_get(req, "references"), 0);
    options(req, opt, sizeof opt);
    snprintf(cmd, sizeof cmd, "'%s' bertscore -m '%s' -c '%s' -r '%s' %s --device cpu "
             "2>/dev/null", tl_binary(), model_dir, cands, refs, opt);
    char *out = NULL;
    int st = run(cmd, &out);
    int idf = json_is_true(json_object_get(req, "idf"));
    int rescale = json_is_true(json_object_get(req, "rescale_with_baseline"));
    char hash[256];
    snprintf(hash, sizeof hash, "%s_L%d%s_version=0.3.13(hug_trans=4.40.0)%s_fast-tokenizer",
             json_string_value(json_object_get(req, "model_type")),
             (int)json_integer_value(json_object_get(req, "num_layers")),
             idf ? "_idf" : "_no-idf", rescale ? "-rescaled" : "");
    double P = NAN, R = NAN, F = NAN;
    char *line_end = out ? strchr(out, '\n') : NULL;
    if (line_end)
        *line_end = '\0';
    int parsed = out && !strncmp(out, hash, strlen(hash)) &&
                 sscanf(out + strlen(hash), " P: %lf R: %lf F1: %lf", &P, &R, &F) == 3;
    CHECK(st == 0 && parsed, "%s: exit %d, line '%s', want the hash %s", where, st,
          out ? out : "", hash);
    if (parsed) {
        /* printed with 6 decimals */
        CHECK(fabs(P - mean(json_object_get(c, "P"))) <= tolerance(c, 0) + 5e-7, "%s: P %f",
              where, P);
        CHECK(fabs(R - mean(json_object_get(c, "R"))) <= tolerance(c, 1) + 5e-7, "%s: R %f",
              where, R);
        CHECK(fabs(F - mean(json_object_get(c, "F"))) <= tolerance(c, 2) + 5e-7, "%s: F %f",
              where, F);
    }
    free(out);
}

static void check_refusals(const char *model_dir)
{
    char cmd[2048], *out = NULL;
    char a[300], b[300];
    snprintf(a, sizeof a, "%s/a.txt", scratch);
    snprintf(b, sizeof b, "%s/b.txt", scratch);
    FILE *f = fopen(a, "w");
    if (f) {
        fputs("one\ntwo\n", f);
        fclose(f);
    }
    f = fopen(b, "w");
    if (f) {
        fputs("one\n", f);
        fclose(f);
    }
    struct {
        const char *args, *want;
        int status;
    } cases[] = {
        {"-c A -r B -l 1", "match", 1},
        {"-c A -r A", "num_layers", 1},
        {"-c A -r A -l 1 --rescale --lang xx", "xx/tiny-bert.tsv", 1},
        {"-c A -r A -l 9", "num_layers 9", 1},
        {"-c A -r A -l x", "--num-layers", 2},
        {"-c A -r A -l 1 --jsonl", "line 1", 2},
        {"-c A", "required", 2},
        {"-c A -r A --bogus", "unknown option", 2},
        {"-c /nonexistent -r A -l 1", "/nonexistent", 1},
        {"-c 'a cat' -r 'a dog' -l 1 --idf", "single pair", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char args[512] = "", *p = args;
        for (const char *s = cases[i].args; *s; s++) {
            if (*s == 'A' && (s[1] == ' ' || !s[1]) && s[-1] == ' ')
                p += sprintf(p, "%s", a);
            else if (*s == 'B' && (s[1] == ' ' || !s[1]) && s[-1] == ' ')
                p += sprintf(p, "%s", b);
            else
                *p++ = *s;
        }
        *p = '\0';
        snprintf(cmd, sizeof cmd, "'%s' bertscore -m '%s' %s --device cpu 2>&1 >/dev/null",
                 tl_binary(), model_dir, args);
        int st = run(cmd, &out);
        CHECK(st == cases[i].status && out && strstr(out, cases[i].want),
              "'%s': exit %d (want %d), stderr %.300s", cases[i].args, st, cases[i].status,
              out ? out : "");
        free(out);
    }
}

/* Writes len bytes to path; 0 on success. */
static int write_bytes(const char *path, const char *bytes, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t put = fwrite(bytes, 1, len, f);
    return fclose(f) == 0 && put == len ? 0 : -1;
}

/* Runs cmd with stderr into a scratch file: exit status, stdout in *out, stderr in *err. */
static int run_capturing(const char *cmd, char **out, char **err)
{
    char full[2600], path[300];
    snprintf(path, sizeof path, "%s/stderr", scratch);
    snprintf(full, sizeof full, "%s 2>'%s'", cmd, path);
    int st = run(full, out);
    FILE *f = fopen(path, "rb");
    *err = calloc(1, 4096);
    if (f && *err && fread(*err, 1, 4095, f) == 0)
        (*err)[0] = '\0';
    if (f)
        fclose(f);
    return st;
}

/* `embed` (stdin) and `bertscore --jsonl` (the same file as candidates and references) read
 * JSON Lines one way: both accept what one accepts, with as many texts, and both refuse a bad
 * line with exit 2 and a message naming it. */
static void check_jsonl_agreement(const char *model_dir)
{
    static const struct {
        const char *what, *bytes;
        int texts;       /* accepted: the texts read; -1: refused */
        const char *line; /* refused: the line the message names */
    } cases[] = {
        {"\\u0000 inside a text", "{\"text\": \"a\\u0000b\"}\n", 1, NULL},
        {"CRLF line ends", "{\"text\": \"a\"}\r\n{\"text\": \"b\"}\r\n", 2, NULL},
        {"blank and whitespace-only lines", "\n{\"text\": \"a\"}\n  \t\r\n\n{\"text\": \"b\"}", 2,
         NULL},
        {"other keys beside text", "{\"id\": 7, \"text\": \"a\", \"x\": [1]}\n", 1, NULL},
        {"an empty text", "{\"text\": \"\"}\n", 1, NULL},
        {"no text key", "{\"text\": \"ok\"}\n{\"txt\": \"bad\"}\n", -1, "line 2"},
        {"not JSON", "{\"text\": \"ok\"}\n\nnot json\n", -1, "line 3"},
        {"text not a string", "{\"text\": 5}\n", -1, "line 1"},
        {"an array", "[\"a\"]\n", -1, "line 1"},
        {"two objects on one line", "{\"text\": \"a\"} {\"text\": \"b\"}\n", -1, "line 1"},
        {"objects split by a lone CR", "{\"text\": \"a\"}\r{\"text\": \"b\"}\n", -1, "line 1"},
        {"invalid JSON escape", "{\"text\": \"\\x41\"}\n", -1, "line 1"},
    };
    char path[300], cmd[2048];
    snprintf(path, sizeof path, "%s/agree.jsonl", scratch);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *what = cases[i].what;
        if (!CHECK(write_bytes(path, cases[i].bytes, strlen(cases[i].bytes)) == 0, "write %s",
                   path))
            return;
        char *e_out = NULL, *e_err = NULL, *b_out = NULL, *b_err = NULL;
        snprintf(cmd, sizeof cmd, "'%s' embed --device cpu --quiet --model '%s' <'%s'",
                 tl_binary(), model_dir, path);
        int e_st = run_capturing(cmd, &e_out, &e_err);
        snprintf(cmd, sizeof cmd, "'%s' bertscore --device cpu -m '%s' -l 1 --jsonl --json "
                 "-c '%s' -r '%s'", tl_binary(), model_dir, path, path);
        int b_st = run_capturing(cmd, &b_out, &b_err);
        if (cases[i].texts >= 0) {
            json_t *e = e_out ? json_loads(e_out, 0, NULL) : NULL;
            json_t *b = b_out ? json_loads(b_out, 0, NULL) : NULL;
            size_t n_e = json_array_size(json_object_get(e, "embeddings"));
            size_t n_b = json_array_size(json_object_get(b, "f1"));
            CHECK(e_st == 0 && b_st == 0 && n_e == (size_t)cases[i].texts &&
                      n_b == (size_t)cases[i].texts,
                  "%s: both accept %d texts: embed exit %d (%zu texts) %.200s, bertscore exit "
                  "%d (%zu texts) %.200s",
                  what, cases[i].texts, e_st, n_e, e_err ? e_err : "", b_st, n_b,
                  b_err ? b_err : "");
            json_decref(e);
            json_decref(b);
        } else {
            CHECK(e_st == 2 && b_st == 2 && e_err && strstr(e_err, cases[i].line) && b_err &&
                      strstr(b_err, cases[i].line),
                  "%s: both refuse with exit 2 naming %s: embed %d '%.200s', bertscore %d "
                  "'%.200s'",
                  what, cases[i].line, e_st, e_err ? e_err : "", b_st, b_err ? b_err : "");
        }
        free(e_out);
        free(e_err);
        free(b_out);
        free(b_err);
    }
}

/* Plain files split as Python's text mode: "\r\n", "\r" and "\n" end lines, an empty line is
 * a sentence, a last line without an end counts. */
static void check_plain_line_ends(const char *model_dir)
{
    static const char text[] = "a cat\r\nb dog\rc\n\nd";
    char path[300], cmd[2048], *out = NULL;
    snprintf(path, sizeof path, "%s/ends.txt", scratch);
    if (!CHECK(write_bytes(path, text, sizeof text - 1) == 0, "write %s", path))
        return;
    snprintf(cmd, sizeof cmd, "'%s' bertscore --device cpu -m '%s' -l 1 --json -c '%s' -r '%s' "
             "2>/dev/null", tl_binary(), model_dir, path, path);
    int st = run(cmd, &out);
    json_t *got = out ? json_loads(out, 0, NULL) : NULL;
    CHECK(st == 0 && json_array_size(json_object_get(got, "f1")) == 5,
          "plain lines a/b/c/''/d are 5 sentences: exit %d, %s", st, out ? out : "");
    json_decref(got);
    free(out);
}

/* Two values that are not files are one pair of sentences, as in bert_score's CLI. */
static void check_single_pair(const char *model_dir)
{
    char cmd[2048], *out = NULL;
    snprintf(cmd, sizeof cmd, "'%s' bertscore -m '%s' -c 'A cat sat.' -r 'A cat sat.' -l 2 "
             "--device cpu --json 2>/dev/null", tl_binary(), model_dir);
    int st = run(cmd, &out);
    json_t *got = out ? json_loads(out, 0, NULL) : NULL;
    json_t *f1 = json_object_get(got, "f1");
    CHECK(st == 0 && json_array_size(f1) == 1 &&
              fabs(json_number_value(json_array_get(f1, 0)) - 1.0) < 1e-5,
          "one identical pair from the command line scores 1: %s", out ? out : "");
    json_decref(got);
    free(out);
}

/* --jsonl texts holding \u0000 are scored whole: "a\u0000b" as tiny-bert reads it (the NUL
 * dropped: like "ab"), never cut to "a", and kept apart from "a" in one request. */
static void check_jsonl_nul(const char *model_dir)
{
    static const char cands[] = "{\"text\": \"a\\u0000b\"}\n{\"text\": \"a\\u0000b\"}\n"
                                "{\"text\": \"a\"}\n{\"text\": \"ab\"}\n";
    static const char refs[] = "{\"text\": \"ab\"}\n{\"text\": \"a\"}\n{\"text\": \"a\"}\n"
                               "{\"text\": \"a\"}\n";
    char c_path[300], r_path[300], cmd[2048], *out = NULL;
    snprintf(c_path, sizeof c_path, "%s/nul-c.jsonl", scratch);
    snprintf(r_path, sizeof r_path, "%s/nul-r.jsonl", scratch);
    if (!CHECK(write_bytes(c_path, cands, sizeof cands - 1) == 0 &&
                   write_bytes(r_path, refs, sizeof refs - 1) == 0,
               "write %s and %s", c_path, r_path))
        return;
    snprintf(cmd, sizeof cmd, "'%s' bertscore --device cpu -m '%s' -l 2 --jsonl --json -c '%s' "
             "-r '%s' 2>/dev/null", tl_binary(), model_dir, c_path, r_path);
    int st = run(cmd, &out);
    json_t *got = out ? json_loads(out, 0, NULL) : NULL;
    json_t *f1 = json_object_get(got, "f1");
    if (CHECK(st == 0 && json_array_size(f1) == 4, "--jsonl with \\u0000: exit %d, %.200s", st,
              out ? out : "")) {
        double f[4];
        for (size_t i = 0; i < 4; i++)
            f[i] = json_number_value(json_array_get(f1, i));
        CHECK(fabs(f[0] - 1) <= 1e-6, "--jsonl a\\u0000b vs ab scores like ab vs ab: F %.7f",
              f[0]);
        CHECK(f[1] < 1 - 1e-3 && fabs(f[1] - f[3]) <= 1e-5,
              "--jsonl a\\u0000b vs a is ab vs a (%.7f), not 1: F %.7f", f[3], f[1]);
        CHECK(fabs(f[2] - 1) <= 1e-6, "--jsonl a vs a beside a\\u0000b: F %.7f", f[2]);
    }
    json_decref(got);
    free(out);
}

static int has_vulkan(void)
{
    vkb_backend *b = NULL;
    char err[256];
    if (vkb_backend_open("vulkan", &b, err, sizeof err)) {
        printf("SKIP bertscore CLI on Vulkan: %s\n", err);
        return 0;
    }
    vkb_backend_close(b);
    return 1;
}

static void check_model(const char *td, const char *name)
{
    char path[1024], model_dir[1024];
    snprintf(path, sizeof path, "%s/oracle/%s.json", td, name);
    snprintf(model_dir, sizeof model_dir, "%s/models/%s", td, name);
    json_t *oracle = json_load_file(path, JSON_ALLOW_NUL, NULL);
    if (!CHECK(oracle, "cannot read %s", path))
        return;
    const char *devices[] = {"cpu", "vulkan"};
    int n_devices = has_vulkan() ? 2 : 1;
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(json_object_get(oracle, "bertscore"), "cases"), i, c) {
        char where[256];
        for (int d = 0; d < n_devices; d++) {
            snprintf(where, sizeof where, "%s/%s/%s --json", name, devices[d],
                     json_string_value(json_object_get(c, "name")));
            check_json_case(model_dir, c, devices[d], where);
        }
        snprintf(where, sizeof where, "%s/%s plain", name,
                 json_string_value(json_object_get(c, "name")));
        check_plain_case(model_dir, c, where);
    }
    json_decref(oracle);
}

int main(void)
{
    const char *td = tl_testdata("bertscore CLI");
    if (td) {
        snprintf(scratch, sizeof scratch, "/tmp/vkb-bs-cli-XXXXXX");
        if (!CHECK(mkdtemp(scratch) != NULL, "make a scratch folder"))
            return tl_finish();
        check_model(td, "tiny-bert");
        check_model(td, "tiny-roberta");
        check_model(td, "tiny-distilbert");
        check_model(td, "tiny-mpnet");
        check_model(td, "tiny-xlmr");
        /* BERTScore reads the encoder's layers: the Dense after pooling must not matter */
        check_model(td, "tiny-bert-dense");
        char model_dir[1024];
        snprintf(model_dir, sizeof model_dir, "%s/models/tiny-bert", td);
        check_refusals(model_dir);
        check_single_pair(model_dir);
        check_jsonl_agreement(model_dir);
        check_jsonl_nul(model_dir);
        check_plain_line_ends(model_dir);
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", scratch);
        CHECK(system(cmd) == 0, "clean scratch");
    }
    return tl_finish();
}
