/*
 * test_tokenizer_cli.c — `vkbridge tokenize` end to end: ~100k JSON lines through stdin give
 * the golden ids and tokens on every line (and in reasonable time); a line is answered before
 * the next one is sent (streaming); TEXT arguments, --no-special and --prefix-space; errors.
 */
#include "testlib.h"

#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Compares one output line with a golden line: same ids and token strings. */
static int same_encoding(const char *out_line, json_t *golden)
{
    json_t *got = json_loads(out_line, JSON_ALLOW_NUL, NULL);
    int ok = json_equal(json_object_get(got, "ids"), json_object_get(golden, "ids")) &&
             json_equal(json_object_get(got, "tokens"), json_object_get(golden, "tokens"));
    json_decref(got);
    return ok;
}

static json_t *load_golden(const char *path)
{
    json_t *lines = json_array();
    FILE *f = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0;
    while (f && getline(&line, &cap, f) > 0)
        json_array_append_new(lines, json_loads(line, JSON_ALLOW_NUL, NULL));
    free(line);
    if (f)
        fclose(f);
    return lines;
}

/* Pipes `repeat` copies of the golden texts through the command; checks every output line. */
static void check_stdin_mode(const char *td, const char *tok, const char *golden_name, int repeat,
                             const char *flags)
{
    char path[4096], in[] = "/tmp/vkb_tok_cli_in_XXXXXX", out[] = "/tmp/vkb_tok_cli_out_XXXXXX";
    snprintf(path, sizeof(path), "%s/tokenizers/%s", td, golden_name);
    json_t *golden = load_golden(path);
    size_t n = json_array_size(golden);
    int fin = mkstemp(in), fout = mkstemp(out);
    FILE *f = fdopen(fin, "w");
    for (int r = 0; r < repeat; r++)
        for (size_t i = 0; i < n; i++) {
            json_t *obj = json_pack("{s:O}", "text", json_object_get(json_array_get(golden, i), "text"));
            char *s = json_dumps(obj, JSON_COMPACT);
            fprintf(f, "%s\n", s);
            free(s);
            json_decref(obj);
        }
    fclose(f);
    close(fout);
    char cmd[12288];
    snprintf(cmd, sizeof(cmd), "%s tokenize --tokenizer %s/tokenizers/%s %s < %s > %s", tl_binary(), td,
             tok, flags, in, out);
    double t0 = now();
    int rc = system(cmd);
    double secs = now() - t0;
    CHECK(rc == 0, "%s exited %d", cmd, rc);
    FILE *o = fopen(out, "r");
    char *line = NULL;
    size_t cap = 0, lines = 0, good = 0;
    while (o && getline(&line, &cap, o) > 0) {
        good += same_encoding(line, json_array_get(golden, lines % n));
        lines++;
    }
    free(line);
    if (o)
        fclose(o);
    printf("tokenize cli %s: %zu/%zu lines match the golden in %.2f s\n", tok, good, n * (size_t)repeat,
           secs);
    CHECK(n > 0 && lines == n * (size_t)repeat && good == lines, "%s: %zu of %zu lines right", tok,
          good, lines);
    unlink(in);
    unlink(out);
    json_decref(golden);
}

/* Starts the command with pipes to its stdin and from its stdout. */
static pid_t spawn(const char *tok_path, int *to_child, int *from_child)
{
    int a[2], b[2];
    if (pipe(a) || pipe(b))
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(a[0], 0);
        dup2(b[1], 1);
        close(a[1]);
        close(b[0]);
        execl(tl_binary(), tl_binary(), "tokenize", "--tokenizer", tok_path, (char *)NULL);
        _exit(127);
    }
    close(a[0]);
    close(b[1]);
    *to_child = a[1];
    *from_child = b[0];
    return pid;
}

/* One request at a time: each answer must arrive while the pipe stays open. */
static void check_streaming(const char *td)
{
    char tok[4096];
    snprintf(tok, sizeof(tok), "%s/tokenizers/bert-base-uncased/tokenizer.json", td);
    int to = -1, from = -1;
    pid_t pid = spawn(tok, &to, &from);
    if (!CHECK(pid > 0, "spawn"))
        return;
    static const char *const req[] = {"{\"text\": \"hello world\"}\n", "{\"text\": \"a\"}\n"};
    static const char *const want[] = {"{\"ids\": [101, 7592, 2088, 102], \"tokens\": [\"[CLS]\", \"hello\", \"world\", \"[SEP]\"]}\n",
                                       "{\"ids\": [101, 1037, 102], \"tokens\": [\"[CLS]\", \"a\", \"[SEP]\"]}\n"};
    for (int i = 0; i < 2; i++) {
        CHECK(write(to, req[i], strlen(req[i])) == (ssize_t)strlen(req[i]), "write request");
        char buf[512];
        size_t got = 0;
        while (got < sizeof(buf) - 1 && (!got || buf[got - 1] != '\n')) {
            struct pollfd p = {from, POLLIN, 0};
            if (poll(&p, 1, 10000) <= 0)
                break;
            ssize_t r = read(from, buf + got, sizeof(buf) - 1 - got);
            if (r <= 0)
                break;
            got += (size_t)r;
        }
        buf[got] = 0;
        CHECK(!strcmp(buf, want[i]), "streamed answer %d: %s", i, buf);
    }
    close(to);
    int status;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "tokenize exit status");
    close(from);
}

/* SentencePiece tokenizers through the CLI, with --decode: the Metaspace decoder drops the
 * first piece's ▁ and turns the others into spaces, specials skipped; a decoder of
 * ByteFallback + Metaspace turns <0xHH> runs back into their UTF-8. */
static void check_decode(const char *td)
{
    char cmd[8192], out[4096];
    snprintf(cmd, sizeof(cmd),
             "%s tokenize --decode --tokenizer %s/tokenizers/unigram-xlmr-like 'Hello  w\xc3\xb6rld <mask>' 2>&1",
             tl_binary(), td);
    FILE *p = popen(cmd, "r");
    size_t n = p ? fread(out, 1, sizeof(out) - 1, p) : 0;
    out[n] = 0;
    CHECK(p && pclose(p) == 0, "tokenize --decode");
    CHECK(!strcmp(out, "{\"ids\": [0, 375, 198, 125, 535, 1359, 344, 8001, 2], \"tokens\": [\"<s>\", "
                       "\"\xe2\x96\x81H\", \"el\", \"lo\", \"\xe2\x96\x81w\", \"\xc3\xb6r\", \"ld\", "
                       "\" <mask>\", \"</s>\"], \"decoded\": \"Hello w\xc3\xb6rld\"}\n"),
          "--decode output: %s", out);
    /* a copy of the byte-fallback tokenizer with ByteFallback in its decoder */
    char src[4096], dst[] = "/tmp/vkb_tok_cli_bf_XXXXXX";
    snprintf(src, sizeof(src), "%s/tokenizers/unigram-byte-fallback/tokenizer.json", td);
    json_t *j = json_load_file(src, 0, NULL);
    int fd = mkstemp(dst);
    if (!CHECK(j && fd >= 0, "copy the byte-fallback tokenizer"))
        return;
    json_object_set_new(j, "decoder", json_pack("{s:s,s:[{s:s},{s:s,s:s,s:s}]}", "type", "Sequence", "decoders",
                                                "type", "ByteFallback", "type", "Metaspace", "replacement",
                                                "\xe2\x96\x81", "prepend_scheme", "always"));
    CHECK(json_dumpfd(j, fd, 0) == 0, "write the copy");
    close(fd);
    json_decref(j);
    snprintf(cmd, sizeof(cmd), "%s tokenize --decode --tokenizer %s '\xe2\x98\x83 ok' 2>&1", tl_binary(), dst);
    p = popen(cmd, "r");
    n = p ? fread(out, 1, sizeof(out) - 1, p) : 0;
    out[n] = 0;
    CHECK(p && pclose(p) == 0, "tokenize --decode (byte fallback)");
    CHECK(strstr(out, "\"<0xE2>\", \"<0x98>\", \"<0x83>\"") && strstr(out, "\"decoded\": \"\xe2\x98\x83 ok\"}"),
          "byte fallback decoded: %s", out);
    unlink(dst);
}

static void check_args_and_errors(const char *td)
{
    char cmd[8192], out[4096];
    snprintf(cmd, sizeof(cmd),
             "%s tokenize --tokenizer %s/tokenizers/roberta-base/tokenizer.json --no-special --prefix-space "
             "'Hello world' 'x' 2>&1",
             tl_binary(), td);
    FILE *p = popen(cmd, "r");
    size_t n = p ? fread(out, 1, sizeof(out) - 1, p) : 0;
    out[n] = 0;
    CHECK(p && pclose(p) == 0, "tokenize with TEXT arguments");
    CHECK(!strcmp(out, "{\"ids\": [20920, 232], \"tokens\": [\"\xc4\xa0Hello\", \"\xc4\xa0world\"]}\n"
                       "{\"ids\": [3023], \"tokens\": [\"\xc4\xa0x\"]}\n"),
          "TEXT output: %s", out);
    snprintf(cmd, sizeof(cmd), "%s tokenize --tokenizer /nonexistent x 2>&1", tl_binary());
    p = popen(cmd, "r");
    n = p ? fread(out, 1, sizeof(out) - 1, p) : 0;
    out[n] = 0;
    int rc = p ? pclose(p) : -1;
    CHECK(rc != 0 && strstr(out, "/nonexistent"), "missing tokenizer: rc %d, %s", rc, out);
    snprintf(cmd, sizeof(cmd), "printf '{\"text\": 1}\\nnot json\\n{\"text\": \"a\"}\\n' | %s tokenize --tokenizer "
             "%s/tokenizers/bert-base-uncased 2>/dev/null", tl_binary(), td);
    p = popen(cmd, "r");
    n = p ? fread(out, 1, sizeof(out) - 1, p) : 0;
    out[n] = 0;
    rc = p ? pclose(p) : -1;
    CHECK(rc != 0 && strstr(out, "{\"error\": \"line 1") && strstr(out, "{\"error\": \"line 2") &&
              strstr(out, "[101, 1037, 102]"),
          "bad lines answered with errors, good ones still encoded: %s", out);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const char *td = tl_testdata("vkbridge tokenize end to end");
    if (!td)
        return tl_finish();
    check_stdin_mode(td, "bert-base-uncased/tokenizer.json", "golden-bert-base-uncased.jsonl", 33, "");
    check_stdin_mode(td, "roberta-base", "golden-roberta-base.jsonl", 1, "");
    check_stdin_mode(td, "roberta-base/vocab.json", "golden-roberta-base-prefix-space.jsonl", 1,
                     "--prefix-space");
    check_stdin_mode(td, "unigram-xlmr-like", "golden-unigram-xlmr-like.jsonl", 1, "");
    check_stdin_mode(td, "unigram-deberta-v3-like/tokenizer.json", "golden-unigram-deberta-v3-like.jsonl", 1, "");
    check_stdin_mode(td, "unigram-byte-fallback", "golden-unigram-byte-fallback.jsonl", 1, "--decode");
    check_decode(td);
    check_streaming(td);
    check_args_and_errors(td);
    return tl_finish();
}
