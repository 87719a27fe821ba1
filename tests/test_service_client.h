/*
 * test_service_client.h — what the end-to-end service tests share: start the real
 * `vkbridge serve` on a free port (--port 0, the port read from its one stdout line), stop it
 * with a signal, and talk to it with libcurl over HTTP/1.1, h2c (prior knowledge) or TLS.
 * Header-only (static inline functions) so each test stays one self-contained executable.
 */
#ifndef VKB_TEST_SERVICE_CLIENT_H
#define VKB_TEST_SERVICE_CLIENT_H

#include "testlib.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---------------------------------------------------------------- the server process */

typedef struct svc_proc {
    pid_t pid;
    int port;
    int tls;
    char log_path[512];
} svc_proc;

static inline double tc_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The binary under test: VKB_SERVE_BINARY if set (to try another build), else this build's. */
static inline const char *tc_binary(void)
{
    const char *b = getenv("VKB_SERVE_BINARY");
    return b && *b ? b : tl_binary();
}

/* A scratch folder for logs, certificates and generated models; removed by tc_cleanup. */
static char tc_dir[256];

static inline const char *tc_scratch(void)
{
    if (!tc_dir[0]) {
        snprintf(tc_dir, sizeof(tc_dir), "/tmp/vkb-service-test-XXXXXX");
        if (!mkdtemp(tc_dir)) {
            perror("mkdtemp");
            exit(1);
        }
    }
    return tc_dir;
}

static inline void tc_cleanup(void)
{
    if (tc_dir[0]) {
        char cmd[400];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tc_dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", tc_dir);
    }
}

/* Every variable the service reads, cleared so the caller's environment cannot leak in. */
static const char *const tc_service_vars[] = {
    "API_KEY", "GPU_MAX_CONCURRENT", "GPU_MAX_BATCH_SIZE", "GPU_MAX_TEXT_LENGTH",
    "GPU_EMBED_BATCH", "MODEL_EMBED", "MODEL_BERTSCORE", "TORCH_DEVICE", "VKB_DEVICE",
    "VKB_MODEL_DIR", "VKB_BASELINE_DIR", "VKB_PULL", "VKB_MAX_BODY", "VKB_LOG_LEVEL",
    "VKB_BERTSCORE_LAYERS", NULL};

/* Starts `vkbridge serve --port 0 ARGS...` with env ("NAME=value", NULL-terminated) set.
 * Returns 0 with p->port filled once the server printed its listening line; or, when the
 * process exited first, its exit status (> 0; -1 if killed by a signal); -2 on a timeout. */
static inline int tc_start(svc_proc *p, const char *name, const char *const *env,
                    const char *const *args)
{
    memset(p, 0, sizeof(*p));
    snprintf(p->log_path, sizeof(p->log_path), "%s/%s.log", tc_scratch(), name);
    int out[2];
    if (pipe(out) != 0)
        return -2;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        for (const char *const *v = tc_service_vars; *v; v++)
            unsetenv(*v);
        for (const char *const *e = env; e && *e; e++)
            putenv((char *)*e);
        int log = open(p->log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(out[1], 1);
        if (log >= 0)
            dup2(log, 2);
        close(out[0]);
        const char *argv[64] = {"vkbridge", "serve", "--port", "0"};
        int argc = 4;
        for (const char *const *a = args; a && *a && argc < 63; a++)
            argv[argc++] = *a;
        argv[argc] = NULL;
        execv(tc_binary(), (char *const *)argv);
        perror("execv");
        _exit(127);
    }
    close(out[1]);
    p->pid = pid;
    char line[256] = "";
    size_t used = 0;
    double deadline = tc_now() + 60;
    int status = -2;
    while (tc_now() < deadline && used < sizeof(line) - 1) {
        struct pollfd pfd = {out[0], POLLIN, 0};
        if (poll(&pfd, 1, 200) <= 0)
            continue;
        ssize_t n = read(out[0], line + used, 1);
        if (n <= 0) { /* the server closed stdout: it exited */
            int ws;
            waitpid(pid, &ws, 0);
            p->pid = 0;
            status = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
            if (status == 0)
                status = -1; /* exiting 0 without listening is a failure too */
            break;
        }
        used += (size_t)n;
        line[used] = 0;
        if (line[used - 1] == '\n') {
            const char *colon = strrchr(line, ':');
            p->port = colon ? atoi(colon + 1) : 0;
            p->tls = strstr(line, "https://") != NULL;
            status = p->port > 0 ? 0 : -2;
            break;
        }
    }
    close(out[0]);
    return status;
}

/* Sends sig and waits up to timeout_s for the exit. Returns the exit status, -1 when it died
 * of a signal, -2 when it had to be killed. */
static inline int tc_stop(svc_proc *p, int sig, double timeout_s)
{
    if (p->pid <= 0)
        return -2;
    kill(p->pid, sig);
    double deadline = tc_now() + timeout_s;
    int ws;
    for (;;) {
        pid_t r = waitpid(p->pid, &ws, WNOHANG);
        if (r == p->pid)
            break;
        if (tc_now() > deadline) {
            kill(p->pid, SIGKILL);
            waitpid(p->pid, &ws, 0);
            p->pid = 0;
            return -2;
        }
        usleep(20000);
    }
    p->pid = 0;
    return WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
}

/* The server's stderr so far (malloc'd, free()). */
static inline char *tc_log(const svc_proc *p)
{
    FILE *f = fopen(p->log_path, "rb");
    if (!f)
        return strdup("");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = calloc(1, (size_t)n + 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n)
        s[0] = 0;
    fclose(f);
    return s;
}

static inline int tc_log_has(const svc_proc *p, const char *needle)
{
    char *log = tc_log(p);
    int found = log && strstr(log, needle) != NULL;
    free(log);
    return found;
}

/* ---------------------------------------------------------------- requests */

typedef enum { TC_H1 = 0, TC_H2C, TC_TLS_H2, TC_TLS_H1 } tc_proto;
static const char *const tc_proto_names[] = {"HTTP/1.1", "h2c", "h2 over TLS", "HTTP/1.1 over TLS"};

typedef struct tc_reply {
    CURLcode rc;
    long status;
    long version;        /* CURL_HTTP_VERSION_1_1 / _2_0 */
    char *body;
    size_t len;
    char retry_after[32];
    char allow[64];
    char content_type[128];
    double seconds;
} tc_reply;

static inline void tc_reply_free(tc_reply *r)
{
    free(r->body);
    memset(r, 0, sizeof(*r));
}

static inline size_t tc_on_body(char *data, size_t size, size_t n, void *user)
{
    tc_reply *r = user;
    size_t add = size * n;
    char *grown = realloc(r->body, r->len + add + 1);
    if (!grown)
        return 0;
    r->body = grown;
    memcpy(r->body + r->len, data, add);
    r->len += add;
    r->body[r->len] = 0;
    return add;
}

static inline void tc_header_value(const char *line, size_t len, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    if (len <= nl + 1 || strncasecmp(line, name, nl) || line[nl] != ':')
        return;
    const char *v = line + nl + 1;
    size_t vl = len - nl - 1;
    while (vl && (*v == ' '))
        v++, vl--;
    while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
        vl--;
    snprintf(out, cap, "%.*s", (int)vl, v);
}

static inline size_t tc_on_header(char *data, size_t size, size_t n, void *user)
{
    tc_reply *r = user;
    size_t len = size * n;
    tc_header_value(data, len, "retry-after", r->retry_after, sizeof(r->retry_after));
    tc_header_value(data, len, "allow", r->allow, sizeof(r->allow));
    tc_header_value(data, len, "content-type", r->content_type, sizeof(r->content_type));
    return len;
}

/* Sets h up for one request (keeping its connections); headers may be NULL. */
static inline struct curl_slist *tc_prepare(CURL *h, const svc_proc *p, tc_proto proto,
                                     const char *method, const char *path, const char *body,
                                     size_t body_len, const char *const *headers, tc_reply *r)
{
    memset(r, 0, sizeof(*r));
    curl_easy_reset(h);
    char url[512];
    snprintf(url, sizeof(url), "%s://localhost:%d%s", p->tls ? "https" : "http", p->port, path);
    curl_easy_setopt(h, CURLOPT_URL, url);
    long version = proto == TC_H2C      ? CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE
                   : proto == TC_TLS_H2 ? CURL_HTTP_VERSION_2TLS
                                        : CURL_HTTP_VERSION_1_1;
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, version);
    if (proto == TC_H2C) {
        /* Debian's libcurl 7.88.1 fails every request that reuses a prior-knowledge h2c
         * connection ("Error in the HTTP2 framing layer", curl issue 10634, fixed in 8.0):
         * one connection per request here; streams sharing a connection are tested with the
         * nghttp client instead. */
        curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
        curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
    }
    if (p->tls) {
        char ca[600];
        snprintf(ca, sizeof(ca), "%s/cert.pem", tc_scratch());
        curl_easy_setopt(h, CURLOPT_CAINFO, ca);
    }
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, tc_on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, tc_on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
    struct curl_slist *list = NULL;
    for (const char *const *hd = headers; hd && *hd; hd++)
        list = curl_slist_append(list, *hd);
    if (body) {
        list = curl_slist_append(list, "Content-Type: application/json");
        list = curl_slist_append(list, "Expect:"); /* no 100-continue round trip */
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    if (strcmp(method, body ? "POST" : "GET") != 0)
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (!strcmp(method, "HEAD"))
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
    return list;
}

static inline void tc_finish(CURL *h, tc_reply *r)
{
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_getinfo(h, CURLINFO_HTTP_VERSION, &r->version);
    curl_easy_getinfo(h, CURLINFO_TOTAL_TIME, &r->seconds);
    if (!r->body)
        r->body = calloc(1, 1);
}

/* One blocking request; returns the HTTP status (0 on a transport error). */
static inline long tc_request(CURL *h, const svc_proc *p, tc_proto proto, const char *method,
                       const char *path, const char *body, const char *const *headers,
                       tc_reply *r)
{
    struct curl_slist *list = tc_prepare(h, p, proto, method, path, body,
                                         body ? strlen(body) : 0, headers, r);
    r->rc = curl_easy_perform(h);
    tc_finish(h, r);
    curl_slist_free_all(list);
    return r->rc == CURLE_OK ? r->status : 0;
}

/* The body for messages: never NULL. */
static inline const char *tc_body(const tc_reply *r) { return r->body ? r->body : ""; }

static inline json_t *tc_json(const tc_reply *r)
{
    return r->body ? json_loadb(r->body, r->len, JSON_ALLOW_NUL, NULL) : NULL;
}

/* Polls /health until 200 (or timeout_s); returns 1 when ready. *saw_loading is set if a
 * 503 {"status":"loading"} came first. */
static inline int tc_wait_ready(const svc_proc *p, double timeout_s, int *saw_loading)
{
    CURL *h = curl_easy_init();
    double deadline = tc_now() + timeout_s;
    int ready = 0;
    while (tc_now() < deadline) {
        tc_reply r;
        long status = tc_request(h, p, TC_H1, "GET", "/health", NULL, NULL, &r);
        if (status == 503 && saw_loading && strstr(r.body, "\"loading\""))
            *saw_loading = 1;
        tc_reply_free(&r);
        if (status == 200) {
            ready = 1;
            break;
        }
        usleep(10000);
    }
    curl_easy_cleanup(h);
    return ready;
}

/* Reads a whole file (malloc'd, free()); NULL if unreadable. */
static inline char *tc_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    if (s)
        s[n] = 0;
    if (len)
        *len = (size_t)n;
    fclose(f);
    return s;
}

#endif
