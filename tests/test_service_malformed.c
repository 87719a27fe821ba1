/*
 * test_service_malformed.c — a seeded, bounded malformed-traffic generator against the real
 * `vkbridge serve` (issue 18, must-have 2). VKB_MALFORMED_N requests (default 20000) across
 * every endpoint: about 60% raw HTTP/1.1 on keep-alive connections (and broken framing on
 * fresh ones), the rest h2c through libcurl; random methods, paths, queries, API keys,
 * Content-Types and JSON bodies built from each endpoint's fields with wrong types, odd
 * numbers, U+0000, lone surrogates, invalid UTF-8, over-long texts and lists, then cut,
 * flipped or padded. Every answer must be below 500, and every error body JSON with
 * "detail" (or OpenAI's "error"); framing the server cannot parse may end the connection.
 * VKB_MALFORMED_SEED picks the sequence (default 18); a failure prints the request.
 */
#include "test_raw_client.h"
#include "test_service_client.h"

static char scratch_models[512];
static int n_violations, n_no_answer, n_requests;
static long by_class[6];

/* ---------------------------------------------------------------- random pieces */

static uint32_t rnd(uint32_t n) { return n ? tl_randu() % n : 0; }
static int chance(int percent) { return (int)rnd(100) < percent; }

typedef struct sbuf {
    char *s;
    size_t len, cap;
} sbuf;

static void sb_add(sbuf *b, const char *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->s = realloc(b->s, b->cap);
    }
    memcpy(b->s + b->len, p, n);
    b->len += n;
    b->s[b->len] = 0;
}
static void sb_str(sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

static void rand_text(sbuf *b)
{
    static const char *const pieces[] = {
        "hello", " ", "world", "\\u0000", "\\ud800", "\\udfff", "\\u00e9", "\xc3\xa9", "\xe4\xb8\xad",
        "\xf0\x9f\x98\x80", "\\n", "\\t", "\\\"", "\\\\", "\xff", "\xc3", "[CLS]", "<s>", "</s>",
        "<mask>", "##", "\\u202e", "\\ufeff", "a", "b", "0"};
    sb_str(b, "\"");
    int n = chance(3) ? 2000 + (int)rnd(9000) : (int)rnd(12);
    for (int i = 0; i < n; i++)
        sb_str(b, pieces[rnd(sizeof(pieces) / sizeof(*pieces))]);
    sb_str(b, "\"");
}

static void rand_value(sbuf *b, int depth);

static void rand_list(sbuf *b, int depth, int max)
{
    sb_str(b, "[");
    int n = chance(5) ? 90 + (int)rnd(30) : (int)rnd((uint32_t)max);
    for (int i = 0; i < n; i++) {
        if (i)
            sb_str(b, ",");
        if (chance(85))
            rand_text(b);
        else
            rand_value(b, depth + 1);
    }
    sb_str(b, "]");
}

static void rand_value(sbuf *b, int depth)
{
    static const char *const atoms[] = {
        "null", "true", "false", "0", "-1", "1", "2", "3", "24", "25", "100", "101", "4096",
        "1e309", "-1e309", "1.5", "3.0", "NaN", "9223372036854775808", "-0", "\"\"", "\"en\"",
        "\"zh\"", "\"xx\"", "\"float\"", "\"base64\"", "\"tiny\"", "{}", "[]", "[[]]"};
    uint32_t k = rnd(depth > 3 ? 2 : 5);
    if (k == 0 || depth > 6)
        sb_str(b, atoms[rnd(sizeof(atoms) / sizeof(*atoms))]);
    else if (k == 1)
        rand_text(b);
    else if (k == 2)
        rand_list(b, depth, 4);
    else if (k == 3) {
        sb_str(b, "{\"k\":");
        rand_value(b, depth + 1);
        sb_str(b, "}");
    } else {
        for (int i = 0; i < 40; i++)
            sb_str(b, "[");
        for (int i = 0; i < 40; i++)
            sb_str(b, "]");
    }
}

static const char *const model_names[] = {
    "\"tiny\"", "\"nope\"", "\"../tiny\"", "\"a/b/c\"", "\"tiny\\u0000x\"", "\"\"", "\"/etc\"",
    "\"sentence-transformers/tiny\"", "\"TINY\"", "\"t..y\"", "5", "null", "[\"tiny\"]"};

/* A body for the endpoint: its own fields, some wrong, then maybe damaged as text. */
static void rand_body(sbuf *b, const char *path)
{
    static const char *const embed_keys[] = {"texts", "model"};
    static const char *const bs_keys[] = {"candidates", "references", "lang", "model_type",
                                          "num_layers", "idf", "rescale_with_baseline",
                                          "batch_size", "model"};
    static const char *const oa_keys[] = {"input", "model", "encoding_format", "dimensions",
                                          "user"};
    const char *const *keys = embed_keys;
    int nk = 2;
    if (strstr(path, "bertscore")) {
        keys = bs_keys;
        nk = 9;
    } else if (strstr(path, "v1/")) {
        keys = oa_keys;
        nk = 5;
    }
    sb_str(b, "{");
    int first = 1;
    for (int i = 0; i < nk; i++) {
        if (chance(20) && i > 0)
            continue;
        if (!first)
            sb_str(b, ",");
        first = 0;
        sb_str(b, "\"");
        sb_str(b, keys[i]);
        sb_str(b, "\":");
        if (!strcmp(keys[i], "model") || !strcmp(keys[i], "model_type"))
            sb_str(b, chance(70) ? "\"tiny\"" : model_names[rnd(13)]);
        else if (!strcmp(keys[i], "texts") || !strcmp(keys[i], "candidates") ||
                 !strcmp(keys[i], "references") || (!strcmp(keys[i], "input") && chance(60)))
            chance(85) ? rand_list(b, 0, 4) : rand_value(b, 0);
        else
            rand_value(b, 0);
    }
    if (chance(5))
        sb_str(b, ",\"texts\":[\"dup\"]");
    if (chance(5))
        sb_str(b, ",\"unknown\":1");
    sb_str(b, "}");
    /* damage the text */
    uint32_t d = rnd(100);
    if (d < 6 && b->len > 2)
        b->len = 1 + rnd((uint32_t)b->len - 1);
    else if (d < 10 && b->len)
        b->s[rnd((uint32_t)b->len)] ^= (char)(1 + rnd(255));
    else if (d < 13)
        sb_str(b, " trailing");
    else if (d < 15) {
        b->len = 0;
        for (int i = 0, n = (int)rnd(64); i < n; i++) {
            char c = (char)rnd(256);
            sb_add(b, &c, 1);
        }
    } else if (d < 17)
        b->len = 0;
    if (b->s)
        b->s[b->len] = 0;
}

static const char *rand_path(int *is_post)
{
    static const char *const posts[] = {"/embed", "/bertscore", "/v1/embeddings"};
    static const char *const gets[] = {"/health", "/info", "/status", "/v1/models", "/metrics",
                                       "/openapi.json", "/docs"};
    static const char *const odd[] = {
        "/", "/nope", "/embed/", "/EMBED", "/embed?x=1", "/embed#f", "//embed", "/./embed",
        "/v1/", "/v1/embeddings/../models", "/%65mbed", "/health?probe=1", "/info%00",
        "/..%2f..%2fetc/passwd", "/v2/embeddings", "*"};
    uint32_t k = rnd(100);
    if (k < 55) {
        *is_post = 1;
        return posts[rnd(3)];
    }
    *is_post = 0;
    if (k < 88)
        return gets[rnd(7)];
    return odd[rnd(16)];
}

static const char *rand_method(int is_post)
{
    static const char *const others[] = {"PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE",
                                         "GET", "POST", "BREW", "get"};
    if (chance(88))
        return is_post ? "POST" : (chance(90) ? "GET" : "HEAD");
    return others[rnd(10)];
}

static const char *rand_content_type(void)
{
    static const char *const cts[] = {
        "application/json", "application/json; charset=utf-8", "text/plain", NULL,
        "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
        "application/vnd.api+json", "APPLICATION/JSON", "application/jsonx", "", "json"};
    return chance(75) ? "application/json" : cts[rnd(11)];
}

static const char *rand_auth(int *is_bearer)
{
    static const char *const bad[] = {"wrong", "", "s3cret ", "S3CRET", "s3cre", "s3cret\x01",
                                      "s3cretx"};
    *is_bearer = chance(15);
    return chance(80) ? "s3cret" : bad[rnd(7)];
}

/* ---------------------------------------------------------------- checking an answer */

static void violation(const char *proto, const char *what, long status, const char *method,
                      const char *path, const char *ct, const char *body, size_t body_len,
                      const char *answer)
{
    if (n_violations++ < 10)
        fprintf(stderr, "VIOLATION [%s] %s: %ld for %s %s (Content-Type %s, %zu body bytes "
                "'%.120s'): %.300s\n", proto, what, status, method, path, ct ? ct : "-",
                body_len, body ? body : "", answer);
}

/* 1 if the error body is JSON with detail (FastAPI) or error (OpenAI). */
static int json_error_body(const char *body, size_t len)
{
    json_t *root = json_loadb(body, len, JSON_ALLOW_NUL, NULL);
    int ok = json_is_object(root) &&
             (json_object_get(root, "detail") || json_is_object(json_object_get(root, "error")));
    json_decref(root);
    return ok;
}

static void judge(const char *proto, long status, const char *content_type, const char *answer,
                  size_t answer_len, const char *method, const char *path, const char *ct,
                  const char *body, size_t body_len, int framing_broken)
{
    n_requests++;
    if (status == 0) {
        n_no_answer++;
        if (!framing_broken)
            violation(proto, "no answer", 0, method, path, ct, body, body_len, "");
        return;
    }
    by_class[status / 100 < 6 ? status / 100 : 0]++;
    if (status >= 500)
        violation(proto, "5xx", status, method, path, ct, body, body_len, answer);
    else if (status >= 400 && strcmp(method, "HEAD") &&
             (strncasecmp(content_type, "application/json", 16) ||
              !json_error_body(answer, answer_len)))
        violation(proto, "error body is not JSON", status, method, path, ct, body, body_len,
                  answer);
}

/* ---------------------------------------------------------------- HTTP/1.1, raw */

typedef struct h1conn {
    int fd;
    int closing; /* the last answer said Connection: close */
    char buf[1 << 20];
    size_t have;
} h1conn;

/* Reads one response (Content-Length framed; h2o sends no chunked answers for these). */
static long h1_read(h1conn *c, char *ct, size_t ctcap, const char **body, size_t *body_len,
                    double timeout_s, int head_request)
{
    double deadline = rc_now() + timeout_s;
    ct[0] = 0;
    for (;;) {
        char *end = c->have ? memmem(c->buf, c->have, "\r\n\r\n", 4) : NULL;
        if (end) {
            size_t head = (size_t)(end - c->buf) + 4, cl = 0;
            long status = 0;
            sscanf(c->buf, "HTTP/1.%*c %ld", &status);
            for (char *line = c->buf; line < end; line = strstr(line, "\r\n") + 2) {
                if (!strncasecmp(line, "content-length:", 15))
                    cl = strtoul(line + 15, NULL, 10);
                if (!strncasecmp(line, "connection:", 11) && strstr(line, "close") &&
                    strstr(line, "close") < strstr(line, "\r\n"))
                    c->closing = 1;
                if (!strncasecmp(line, "content-type:", 13)) {
                    const char *v = line + 13;
                    while (*v == ' ')
                        v++;
                    size_t n = strcspn(v, "\r");
                    snprintf(ct, ctcap, "%.*s", (int)n, v);
                }
            }
            if (head_request)
                cl = 0;
            if (c->have >= head + cl) {
                static char copy[1 << 20];
                memcpy(copy, c->buf + head, cl);
                copy[cl] = 0;
                *body = copy;
                *body_len = cl;
                memmove(c->buf, c->buf + head + cl, c->have - head - cl);
                c->have -= head + cl;
                return status;
            }
        }
        double left = deadline - rc_now();
        if (left <= 0 || c->have == sizeof(c->buf))
            return 0;
        struct pollfd pfd = {c->fd, POLLIN, 0};
        if (poll(&pfd, 1, (int)(left * 1000) + 1) <= 0)
            return 0;
        ssize_t n = recv(c->fd, c->buf + c->have, sizeof(c->buf) - c->have, 0);
        if (n <= 0)
            return 0;
        c->have += (size_t)n;
    }
}

static void h1_reconnect(h1conn *c, int port)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = rc_connect(port);
    c->have = 0;
    c->closing = 0;
}

/* Framing a parser must refuse: sent on a fresh connection, answered or closed. */
static void h1_broken_framing(const svc_proc *p, h1conn *c)
{
    static const char *const heads[] = {
        "GARBAGE\r\n\r\n",
        "GET /health HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
        "GET /health HTTP/9.9\r\n\r\n",
        "POST /embed HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
        "POST /embed HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
        "POST /embed HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n{}\r\n0\r\n\r\n",
        "POST /embed HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n",
        "POST /embed HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nContent-Length: 2\r\n\r\n{}",
        "GET /health HTTP/1.1\r\nHost: x\r\nX: \x01\x02\r\n\r\n",
        "GET /he\x7f" "alth HTTP/1.1\r\n\r\n",
        "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03",
        "POST /embed HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 5\r\n\r\n{}",
        "POST /embed HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{}}\r\n0\r\n\r\n",
    };
    h1_reconnect(c, p->port);
    const char *h = heads[rnd(sizeof(heads) / sizeof(*heads))];
    char big[12000];
    if (chance(10)) { /* a head longer than h2o's 8 KiB */
        int n = snprintf(big, sizeof(big), "GET /health HTTP/1.1\r\nHost: x\r\nX-Long: ");
        memset(big + n, 'a', 9000);
        memcpy(big + n + 9000, "\r\n\r\n", 5);
        h = big;
    }
    rc_send(c->fd, h, strlen(h));
    c->closing = 0;
    char ct[128];
    const char *answer = "";
    size_t alen = 0;
    long status = h1_read(c, ct, sizeof(ct), &answer, &alen, 5, 0);
    judge("HTTP/1.1", status, ct, answer, alen, "RAW", "(broken framing)", NULL, h, strlen(h), 1);
    h1_reconnect(c, p->port);
}

static void h1_one(const svc_proc *p, h1conn *c)
{
    if (chance(4)) {
        h1_broken_framing(p, c);
        return;
    }
    int is_post, bearer;
    const char *path = rand_path(&is_post);
    const char *method = rand_method(is_post);
    const char *ct = is_post || chance(10) ? rand_content_type() : NULL;
    const char *key = chance(90) ? rand_auth(&bearer) : NULL;
    sbuf body = {0};
    int with_body = is_post ? chance(97) : chance(5);
    if (with_body)
        rand_body(&body, path);
    sbuf req = {0};
    sb_str(&req, method);
    sb_str(&req, " ");
    sb_str(&req, path);
    sb_str(&req, " HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    if (key) {
        char h[128];
        snprintf(h, sizeof(h), bearer ? "Authorization: Bearer %s\r\n" : "X-API-Key: %s\r\n", key);
        sb_str(&req, h);
    }
    if (ct) {
        sb_str(&req, "Content-Type: ");
        sb_str(&req, ct);
        sb_str(&req, "\r\n");
    }
    int chunked = with_body && chance(10);
    char h[96];
    if (chunked) {
        sb_str(&req, "Transfer-Encoding: chunked\r\n\r\n");
        snprintf(h, sizeof(h), "%zx\r\n", body.len);
        if (body.len)
            sb_str(&req, h), sb_add(&req, body.s, body.len), sb_str(&req, "\r\n");
        sb_str(&req, "0\r\n\r\n");
    } else {
        if (with_body || is_post) {
            snprintf(h, sizeof(h), "Content-Length: %zu\r\n", body.len);
            sb_str(&req, h);
        }
        sb_str(&req, "\r\n");
        if (body.len)
            sb_add(&req, body.s, body.len);
    }
    if (c->fd < 0 || rc_send(c->fd, req.s, req.len) != 0) {
        h1_reconnect(c, p->port);
        rc_send(c->fd, req.s, req.len);
    }
    char rct[128];
    const char *answer = "";
    size_t alen = 0;
    long status = h1_read(c, rct, sizeof(rct), &answer, &alen, 30, !strcmp(method, "HEAD"));
    judge("HTTP/1.1", status, rct, answer, alen, method, path, ct, body.s, body.len, 0);
    if (status == 0 || c->closing || chance(3))
        h1_reconnect(c, p->port);
    free(req.s);
    free(body.s);
}

/* ---------------------------------------------------------------- h2c, libcurl */

static void h2_one(const svc_proc *p, CURL *h)
{
    int is_post, bearer;
    const char *path = rand_path(&is_post);
    if (!strcmp(path, "*") || strchr(path, '#'))
        path = "/nope"; /* not a URL curl sends as is */
    const char *method = rand_method(is_post);
    const char *ct = is_post ? rand_content_type() : NULL;
    const char *key = chance(90) ? rand_auth(&bearer) : NULL;
    sbuf body = {0};
    int with_body = is_post ? chance(97) : chance(5);
    if (with_body)
        rand_body(&body, path);
    tc_reply r;
    memset(&r, 0, sizeof(r));
    curl_easy_reset(h);
    char url[512];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", p->port, path);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE);
    curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L); /* see tc_prepare: curl 7.88's h2c reuse */
    curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, tc_on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, tc_on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &r);
    struct curl_slist *list = NULL;
    char hk[160];
    if (key) {
        snprintf(hk, sizeof(hk), bearer ? "Authorization: Bearer %s" : "X-API-Key: %s", key);
        if (!strchr(key, '\x01'))
            list = curl_slist_append(list, hk);
    }
    char hc[160];
    snprintf(hc, sizeof(hc), ct ? "Content-Type: %s" : "Content-Type:", ct ? ct : "");
    list = curl_slist_append(list, hc);
    list = curl_slist_append(list, "Expect:");
    if (with_body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.s ? body.s : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body.len);
    }
    if (strcmp(method, with_body ? "POST" : "GET"))
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (!strcmp(method, "HEAD"))
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
    r.rc = curl_easy_perform(h);
    tc_finish(h, &r);
    judge("h2c", r.rc == CURLE_OK ? r.status : 0, r.content_type, r.body, r.len, method, path,
          ct, body.s, body.len, 0);
    curl_slist_free_all(list);
    tc_reply_free(&r);
    free(body.s);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    signal(SIGPIPE, SIG_IGN);
    const char *ns = getenv("VKB_MALFORMED_N"), *ss = getenv("VKB_MALFORMED_SEED");
    int total = ns && *ns ? atoi(ns) : 20000;
    uint64_t seed = ss && *ss ? strtoull(ss, NULL, 10) : 18;
    tl_seed(seed);
    snprintf(scratch_models, sizeof(scratch_models), "%s/models", tc_scratch());
    char cmd[1400];
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s' && '%s' gen-model --out '%s/tiny' --shape tiny >/dev/null",
             scratch_models, tc_binary(), scratch_models);
    int rc = system(cmd);
    CHECK(rc == 0, "gen-model tiny (rc %d)", rc);
    char dir_env[600];
    snprintf(dir_env, sizeof(dir_env), "VKB_MODEL_DIR=%s", scratch_models);
    const char *env[] = {"API_KEY=s3cret", "MODEL_EMBED=tiny", "MODEL_BERTSCORE=tiny", dir_env,
                         "GPU_MAX_TEXT_LENGTH=4000", "VKB_BERTSCORE_LAYERS=1", NULL};
    const char *args[] = {"--device", "cpu", "--log-level", "warn", "--max-body", "256k",
                          "--timeout", "10", NULL};
    svc_proc p;
    rc = rc ? rc : tc_start(&p, "malformed", env, args);
    CHECK(rc == 0 && tc_wait_ready(&p, 60, NULL), "server starts and gets ready (rc %d)", rc);
    if (rc == 0) {
        double t0 = rc_now();
        h1conn *c = calloc(1, sizeof(*c));
        c->fd = -1;
        h1_reconnect(c, p.port);
        CURL *h = curl_easy_init();
        for (int i = 0; i < total; i++) {
            if (i % 5 < 3)
                h1_one(&p, c);
            else
                h2_one(&p, h);
        }
        curl_easy_cleanup(h);
        if (c->fd >= 0)
            close(c->fd);
        free(c);
        double took = rc_now() - t0;
        printf("seed %llu: %d requests in %.1f s: %ld 2xx, %ld 4xx, %ld 5xx, %d without an "
               "answer (broken framing), %d violations\n", (unsigned long long)seed, n_requests,
               took, by_class[2], by_class[4], by_class[5], n_no_answer, n_violations);
        CHECK(n_requests == total, "all %d requests sent (%d)", total, n_requests);
        CHECK(n_violations == 0, "%d violations (5xx, non-JSON error bodies, no answer)",
              n_violations);
        CHECK(by_class[2] > total / 50, "some requests were valid and computed (%ld 2xx)",
              by_class[2]);
        int stop_rc = tc_stop(&p, SIGTERM, 30);
        CHECK(stop_rc == 0, "the server stops cleanly afterwards (rc %d)", stop_rc);
        char *log = tc_log(&p);
        CHECK(!strstr(log, "ERROR: AddressSanitizer") && !strstr(log, "runtime error:"),
              "no sanitizer report in the server's log");
        free(log);
    }
    curl_global_cleanup();
    tc_cleanup();
    return tl_finish();
}
