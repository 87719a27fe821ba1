/* svc_http.c — one request's life on the loop: the svc_call tied to the request pool,
 * responses with exact Content-Length, metrics and the access log, and JSON bodies for the
 * errors h2o answers by itself. */
#include "svc_server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double svc_now_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

double svc_now_unix(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 422: return "Unprocessable Entity";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return status < 400 ? "OK" : status < 500 ? "Bad Request" : "Internal Server Error";
    }
}

static void call_dispose(void *p)
{
    svc_call *call = p;
    call->srv->requests_in_flight--;
    svc_guard_call_end(call);
    svc_routes_abandon_info(call);
    if (call->job) {
        svc_job *job = call->job;
        call->job = NULL;
        svc_compute_abandon(job);
    }
}

svc_call *svc_call_new(svc_server *srv, h2o_req_t *req, svc_endpoint ep, svc_api api)
{
    svc_call *call = h2o_mem_alloc_shared(&req->pool, sizeof(*call), call_dispose);
    memset(call, 0, sizeof(*call));
    call->srv = srv;
    call->req = req;
    call->ep = ep;
    call->api = api;
    call->t0 = svc_now_mono();
    srv->requests_in_flight++;
    return call;
}

/* Request paths go to the log: keep control bytes and the like out of it. */
static void printable(char *dst, size_t cap, const char *src, size_t len)
{
    size_t n = len < cap - 1 ? len : cap - 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)src[i];
        dst[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    dst[n] = 0;
}

static void access_log(h2o_req_t *req, int status, double ms)
{
    if (vkb_log_get_level() < VKB_LOG_INFO)
        return;
    char method[16], path[256];
    printable(method, sizeof(method), req->input.method.base, req->input.method.len);
    printable(path, sizeof(path), req->input.path.base, req->input.path.len);
    vkb_log(VKB_LOG_INFO, "%s %s %d %.2fms", method, path, status, ms);
}

void svc_respond(svc_call *call, int status, const char *content_type, const char *body,
                 size_t len, const h2o_token_t *extra_name, const char *extra_value)
{
    if (call->responded)
        return;
    call->responded = 1;
    call->responded_at = svc_now_mono();
    h2o_req_t *req = call->req;
    req->res.status = status;
    req->res.reason = reason_phrase(status);
    req->res.content_length = len;
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, NULL, content_type,
                   strlen(content_type));
    if (extra_name)
        h2o_add_header(&req->pool, &req->res.headers, extra_name, NULL, extra_value,
                       strlen(extra_value));
    double seconds = svc_now_mono() - call->t0;
    svc_metrics_request(&call->srv->metrics, call->ep, status, seconds);
    access_log(req, status, seconds * 1000);
    h2o_send_inline(req, body, len);
}

void svc_respond_owned(svc_call *call, int status, const char *content_type, char *body,
                       size_t len)
{
    if (!body) {
        svc_respond_detail(call, 500, "out of memory while writing the response");
        return;
    }
    svc_respond(call, status, content_type, body, len, NULL, NULL);
    free(body);
}

void svc_respond_error(svc_call *call, svc_error *err)
{
    size_t len = 0;
    char *body = svc_error_body(err, call->api, &len);
    int status = svc_error_status(err, call->api);
    const h2o_token_t *extra = NULL;
    const char *extra_value = NULL;
    char retry[16];
    if (status == 503) { /* busy or loading: both worth a retry */
        snprintf(retry, sizeof(retry), "%d", call->srv->cfg.retry_after_s);
        extra = H2O_TOKEN_RETRY_AFTER;
        extra_value = retry;
    }
    if (status == 405) {
        extra = H2O_TOKEN_ALLOW;
        extra_value = call->ep == SVC_EP_EMBED || call->ep == SVC_EP_BERTSCORE ||
                              call->ep == SVC_EP_V1_EMBEDDINGS
                          ? "POST"
                          : "GET, HEAD";
    }
    if (body)
        svc_respond(call, status, "application/json", body, len, extra, extra_value);
    else
        svc_respond(call, 500, "application/json", "{\"detail\":\"out of memory\"}", 26, NULL,
                    NULL);
    free(body);
    svc_error_clear(err);
}

void svc_respond_detail(svc_call *call, int status, const char *detail)
{
    svc_error err;
    svc_error_init(&err);
    svc_error_set(&err, status, "%s", detail);
    svc_respond_error(call, &err);
}

/* ---------------------------------------------------------------- h2o's own errors
 * h2o answers some requests before any handler runs: a Content-Length over
 * max_request_entity_size (413, before the body is read), broken chunked framing (400).
 * It binds those to the host's fallback path, so a filter there sees only them and swaps
 * the text/plain body for {"detail": ...} (OpenAI's shape on /v1/...). */

typedef struct error_filter {
    h2o_filter_t super;
    svc_server *srv;
} error_filter;

typedef struct json_body_ostream {
    h2o_ostream_t super;
    h2o_iovec_t body;
} json_body_ostream;

static void json_body_send(h2o_ostream_t *self, h2o_req_t *req, h2o_iovec_t *bufs,
                           size_t bufcnt, h2o_send_state_t state)
{
    (void)bufs;
    (void)bufcnt;
    json_body_ostream *o = (void *)self;
    if (h2o_send_state_is_in_progress(state)) {
        h2o_ostream_send_next(self, req, NULL, 0, state);
        return;
    }
    h2o_ostream_send_next(self, req, &o->body, 1, state);
}

static void error_filter_setup(h2o_filter_t *self, h2o_req_t *req, h2o_ostream_t **slot)
{
    error_filter *f = (void *)self;
    ssize_t ct = h2o_find_header(&req->res.headers, H2O_TOKEN_CONTENT_TYPE, -1);
    if (req->res.status >= 400 && ct >= 0 && req->res.headers.entries[ct].value.len >= 10 &&
        !memcmp(req->res.headers.entries[ct].value.base, "text/plain", 10)) {
        svc_error err;
        svc_error_init(&err);
        if (req->res.status == 413)
            svc_error_set(&err, 413, "Request body too large: the limit is %zu bytes",
                          f->srv->cfg.max_body);
        else
            svc_error_set(&err, req->res.status, "%s", req->res.reason ? req->res.reason : "error");
        int openai = req->input.path.len >= 4 && !memcmp(req->input.path.base, "/v1/", 4);
        size_t len = 0;
        char *text = svc_error_body(&err, openai ? SVC_API_OPENAI : SVC_API_FASTAPI, &len);
        if (text) {
            json_body_ostream *o = (void *)h2o_add_ostream(req, sizeof(*o), slot);
            o->super.do_send = json_body_send;
            o->body = h2o_strdup(&req->pool, text, len);
            free(text);
            req->res.content_length = len;
            req->res.headers.entries[ct].value = h2o_iovec_init(H2O_STRLIT("application/json"));
            slot = &o->super.next;
        }
        svc_metrics_request(&f->srv->metrics, SVC_EP_OTHER, req->res.status, 0);
        access_log(req, req->res.status, 0);
    }
    h2o_setup_next_ostream(req, slot);
}

void svc_http_register_error_filter(svc_server *srv, h2o_hostconf_t *host)
{
    error_filter *f = (void *)h2o_create_filter(&host->fallback_path, sizeof(*f));
    f->srv = srv;
    f->super.on_setup_ostream = error_filter_setup;
}
