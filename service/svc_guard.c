/* svc_guard.c — see svc_guard.h. Runs on the loop thread only. */
#include "svc_guard.h"

#include "svc_auth.h"
#include "svc_server.h"

#include <h2o/http1.h>
#include <h2o/http2.h>

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

/* picohttpparser, which libh2o exports (its header is not installed). */
struct phr_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
};
int phr_parse_request(const char *buf, size_t len, const char **method, size_t *method_len,
                      const char **path, size_t *path_len, int *minor_version,
                      struct phr_header *headers, size_t *num_headers, size_t last_len);

static const char H2_PREFACE[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"; /* 24 bytes */
#define SWEEP_MS 250
#define BACKOFF_MS 100

enum { FRAME_DATA = 0, FRAME_HEADERS = 1, FRAME_RST_STREAM = 3 };
enum { FLAG_END_STREAM = 0x1 };

static void guarded_read(h2o_socket_t *sock, const char *err);

/* ---------------------------------------------------------------- accounting */

static void set_unfinished(svc_conn *c, size_t bytes)
{
    svc_guard *g = &c->srv->guard;
    g->unfinished = g->unfinished - c->unfinished + bytes;
    c->unfinished = bytes;
}

/* Why c must go, given what it has unfinished now; NULL if it may stay. */
static const char *over_budget(svc_conn *c)
{
    svc_server *srv = c->srv;
    /* before a request of the connection passed the key check: one body of the largest size
     * h2o takes (twice --max-body, so the router can answer a JSON 413) */
    if (srv->cfg.api_key && !c->proven &&
        c->unfinished > srv->config.max_request_entity_size + SVC_GUARD_PREAUTH_BYTES)
        return "unauthenticated uploads over twice --max-body";
    if (c->unfinished > srv->guard.max_conn_unfinished)
        return "unfinished request bodies over the connection's share";
    if (srv->guard.unfinished > srv->guard.max_unfinished)
        return "unfinished request bodies over the server's budget";
    return NULL;
}

static const char *note_cancel(svc_conn *c)
{
    double now = svc_now_mono();
    if (now - c->cancel_window_at > SVC_GUARD_CANCEL_WINDOW_S) {
        c->cancel_window_at = now;
        c->cancels = 0;
    }
    if (++c->cancels > SVC_GUARD_MAX_CANCELS)
        return "too many cancelled streams (rapid reset)";
    return NULL;
}

/* Outside a read callback: shut the socket so that h2o's next read or write fails and h2o
 * closes the connection its own way. */
/* c is to be closed, for why: counted and logged once; the caller arranges the close. */
static void mark_killed(svc_conn *c, const char *why)
{
    c->killed = 1;
    c->srv->guard.killed_conns++;
    vkb_log(VKB_LOG_WARN, "closing connection %d: %s", c->fd, why);
}

static void kill_later(svc_conn *c, const char *why)
{
    if (c->killed)
        return;
    mark_killed(c, why);
    shutdown(c->fd, SHUT_RDWR);
}

/* ---------------------------------------------------------------- HTTP/2 frames */

static svc_guard_stream *find_stream(svc_conn *c, uint32_t id)
{
    for (int i = 0; i < SVC_GUARD_MAX_STREAMS; i++)
        if (c->streams[i].id == id)
            return &c->streams[i];
    return NULL;
}

static void end_stream(svc_conn *c, svc_guard_stream *s)
{
    set_unfinished(c, c->unfinished - s->body);
    memset(s, 0, sizeof(*s));
}

/* A frame header arrived: the payload length is known before the payload, so a DATA frame
 * is charged before h2o buffers a byte of it. */
static const char *frame_begin(svc_conn *c, size_t len)
{
    uint8_t type = c->frame_type, flags = c->frame_flags;
    uint32_t id = c->frame_stream;
    svc_guard_stream *s = id ? find_stream(c, id) : NULL;
    switch (type) {
    case FRAME_HEADERS:
        if (!s) {
            if (flags & FLAG_END_STREAM)
                return NULL; /* a request without a body: nothing to hold */
            if (!(s = find_stream(c, 0)))
                return "more unfinished streams than HTTP/2 allows";
            s->id = id;
            s->opened_at = svc_now_mono();
        } else if (flags & FLAG_END_STREAM) {
            end_stream(c, s); /* trailers */
        }
        return NULL;
    case FRAME_DATA:
        if (!s)
            return NULL; /* closed or unknown: h2o answers it */
        s->body += len;
        set_unfinished(c, c->unfinished + len);
        {
            const char *why = over_budget(c);
            if (why)
                return why;
        }
        if (flags & FLAG_END_STREAM)
            end_stream(c, s);
        return NULL;
    case FRAME_RST_STREAM:
        if (s)
            end_stream(c, s);
        return note_cancel(c);
    default:
        return NULL;
    }
}

static const char *h2_feed(svc_conn *c, const uint8_t *p, size_t n)
{
    while (n) {
        if (c->preface_have < 24) {
            size_t k = 24 - c->preface_have < n ? 24 - c->preface_have : n;
            c->preface_have += k;
            p += k;
            n -= k;
        } else if (c->payload_left) {
            size_t k = c->payload_left < n ? c->payload_left : n;
            c->payload_left -= k;
            p += k;
            n -= k;
        } else {
            size_t k = 9 - c->fh_have < n ? 9 - c->fh_have : n;
            memcpy(c->fh + c->fh_have, p, k);
            c->fh_have += k;
            p += k;
            n -= k;
            if (c->fh_have < 9)
                break;
            c->fh_have = 0;
            size_t len = (size_t)c->fh[0] << 16 | (size_t)c->fh[1] << 8 | c->fh[2];
            c->frame_type = c->fh[3];
            c->frame_flags = c->fh[4];
            c->frame_stream = ((uint32_t)c->fh[5] << 24 | (uint32_t)c->fh[6] << 16 |
                               (uint32_t)c->fh[7] << 8 | c->fh[8]) & 0x7fffffffu;
            c->payload_left = len;
            const char *why = frame_begin(c, len);
            if (why)
                return why;
        }
    }
    return NULL;
}

/* ---------------------------------------------------------------- HTTP/1 heads */

/* The key check of svc_routes, run on the head of a request whose body is still coming. */
static int head_authorized(svc_server *srv, const struct phr_header *h, size_t n,
                           const char *path, size_t path_len)
{
    if (path_len >= 7 && !memcmp(path, "/health", 7) && (path_len == 7 || path[7] == '?'))
        return 1;
    svc_credentials cr = {0};
    for (size_t i = 0; i < n; i++) {
        if (h[i].name_len == 9 && !strncasecmp(h[i].name, "x-api-key", 9)) {
            cr.x_api_key = h[i].value;
            cr.x_api_key_len = h[i].value_len;
        } else if (h[i].name_len == 13 && !strncasecmp(h[i].name, "authorization", 13)) {
            cr.authorization = h[i].value;
            cr.authorization_len = h[i].value_len;
        }
    }
    int v1 = path_len >= 4 && !memcmp(path, "/v1/", 4);
    return svc_auth_ok(srv->cfg.api_key, &cr, v1);
}

#define LINGER_S 2.0

/* TLS: the refusal is out, or the client is gone: h2o closes the connection its way. */
static void refusal_done(h2o_socket_t *sock)
{
    svc_conn *c = sock->on_close.data;
    if (c->h2o_read) /* c may be freed in here */
        c->h2o_read(sock, "closed by vkbridge's connection guard");
    else /* refused in the handshake's bytes, before h2o had the socket */
        h2o_socket_close(sock);
}

/* Input after the refusal is read and dropped until the client closes or LINGER_S passes
 * (the sweep ends it then): closing with unread input would send a reset, and a reset makes
 * the client's kernel drop the answer it has not read yet. */
static void on_linger_read(h2o_socket_t *sock, const char *err)
{
    svc_conn *c = sock->on_close.data;
    if (err || svc_now_mono() > c->linger_until) {
        refusal_done(sock);
        return;
    }
    h2o_buffer_consume(&sock->input, sock->input->size);
}

static void on_refusal_sent(h2o_socket_t *sock, const char *err)
{
    svc_conn *c = sock->on_close.data;
    if (err) {
        refusal_done(sock);
        return;
    }
    shutdown(c->fd, SHUT_WR); /* the answer is complete (Connection: close) */
    c->linger_until = svc_now_mono() + LINGER_S;
    h2o_socket_read_start(sock, on_linger_read);
}

/* Answers the request at the head of c's input with status and a JSON detail (OpenAI's shape
 * on /v1/), then has the connection closed: for what h2o would answer in plain text (a head
 * it cannot parse) or not at all (a connection closed for an unauthenticated upload). On
 * plain TCP the answer goes to the descriptor at once and the caller hands h2o a read error.
 * Over TLS it must be encrypted, so h2o's socket writes it: reading stops, c->refusal is set
 * (the caller then leaves h2o alone: it must not parse, or answer, what is being refused);
 * once it is out the input is drained for a while (on_linger_read) and h2o closes the
 * connection. If h2o is writing a response already, a second write cannot start: the
 * connection is only closed. */
static const char *h1_refuse(svc_conn *c, int status, const char *reason, const char *detail,
                             const char *code, int openai)
{
    char body[512], resp[1024];
    int n = openai ? snprintf(body, sizeof(body), "{\"error\":{\"message\":\"%s\",\"type\":"
                              "\"invalid_request_error\",\"param\":null,\"code\":%s%s%s}}",
                              detail, code ? "\"" : "", code ? code : "null", code ? "\"" : "")
                   : snprintf(body, sizeof(body), "{\"detail\":\"%s\"}", detail);
    int m = snprintf(resp, sizeof(resp), "HTTP/1.1 %d %s\r\nServer: vkbridge\r\nContent-Type: "
                     "application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
                     status, reason, n, body);
    if (c->sock->ssl) {
        if (h2o_socket_is_writing(c->sock) || !(c->refusal = malloc((size_t)m)))
            return detail;
        memcpy(c->refusal, resp, (size_t)m);
        h2o_socket_read_stop(c->sock);
        h2o_iovec_t buf = h2o_iovec_init(c->refusal, (size_t)m);
        h2o_socket_write(c->sock, &buf, 1, on_refusal_sent);
        svc_metrics_request(&c->srv->metrics, SVC_EP_OTHER, status, 0);
        return detail;
    }
    if (send(c->fd, resp, (size_t)m, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
        /* the client is gone or not reading: closing is all that is left */
    }
    shutdown(c->fd, SHUT_WR);
    char sink[4096]; /* unread input would turn the close into a reset that loses the answer */
    while (recv(c->fd, sink, sizeof(sink), MSG_DONTWAIT) > 0) {
    }
    svc_metrics_request(&c->srv->metrics, SVC_EP_OTHER, status, 0);
    return detail;
}

/* Whether input (len bytes) may still become the HTTP/2 client preface. */
static int maybe_preface(const char *in, size_t len)
{
    return !memcmp(in, H2_PREFACE, len < 24 ? len : 24);
}

/* h2o holds an HTTP/1 request in the socket's input until its body is complete. The head is
 * parsed here as h2o parses it (both use picohttpparser): a head h2o could only answer with a
 * text/plain 400 gets a JSON 400 instead. Past SVC_GUARD_PREAUTH_BYTES, a Content-Length
 * over h2o's own limit is left to h2o (its 413, unread), other bodies are charged, and without
 * a valid key they get a JSON 401 and the connection ends before h2o buffers the rest. */
static const char *h1_inspect(svc_conn *c)
{
    h2o_buffer_t *in = c->sock->input;
    if (c->calls || in->size == 0) {
        set_unfinished(c, c->calls ? 0 : in->size); /* in the handler: the body is complete */
        return NULL;
    }
    if (maybe_preface(in->bytes, in->size))
        return NULL; /* h2o switches to HTTP/2 (prior knowledge) */
    const char *method, *path;
    size_t method_len, path_len, n = 100; /* h2o's H2O_MAX_HEADERS */
    int minor;
    struct phr_header h[100];
    size_t scan = in->size < 8192 ? in->size : 8192; /* h2o's H2O_MAX_REQLEN */
    int rc = phr_parse_request(in->bytes, scan, &method, &method_len, &path, &path_len, &minor,
                               h, &n, 0);
    if (rc == -1) {
        size_t crlf = 0;
        while (crlf < in->size && (in->bytes[crlf] == '\r' || in->bytes[crlf] == '\n'))
            crlf++;
        if (in->size <= 4 && crlf == in->size)
            return NULL; /* h2o closes quietly on stray line ends */
        return h1_refuse(c, 400, "Bad Request", "Bad Request: malformed HTTP/1.1 request",
                         NULL, 0);
    }
    if (rc == -2) {
        if (scan == 8192)
            return h1_refuse(c, 400, "Bad Request", "Bad Request: the request head is over 8 KiB",
                             NULL, 0);
        set_unfinished(c, in->size);
        return NULL;
    }
    size_t body = in->size - (size_t)rc;
    for (size_t i = 0; i < n; i++)
        if (h[i].name_len == 14 && !strncasecmp(h[i].name, "content-length", 14)) {
            unsigned long long cl = strtoull(h[i].value, NULL, 10);
            if (cl > c->srv->config.max_request_entity_size) {
                set_unfinished(c, 0);
                return NULL;
            }
        }
    set_unfinished(c, in->size);
    if (body > SVC_GUARD_PREAUTH_BYTES && c->srv->cfg.api_key &&
        !head_authorized(c->srv, h, n, path, path_len)) {
        int v1 = path_len >= 4 && !memcmp(path, "/v1/", 4);
        return h1_refuse(c, 401, "Unauthorized", "Unauthorized", "invalid_api_key", v1);
    }
    return over_budget(c);
}

/* ---------------------------------------------------------------- the read path */

static void wrap(svc_conn *c)
{
    h2o_socket_cb cb = c->sock->_cb.read;
    if (c->handshaking || c->refusal)
        return; /* TLS: h2o's handshake, or the guard's own answer and drain, own the socket's
                 * callbacks (the handshake's callback must not become c->h2o_read) */
    if (cb && cb != guarded_read) {
        c->h2o_read = cb;
        c->sock->_cb.read = guarded_read;
    }
}

static int h2_by_alpn(h2o_socket_t *sock)
{
    h2o_iovec_t proto = h2o_socket_ssl_get_selected_protocol(sock);
    return proto.len == 2 && !memcmp(proto.base, "h2", 2);
}

static void guarded_read(h2o_socket_t *sock, const char *err)
{
    svc_conn *c = sock->on_close.data;
    h2o_socket_cb next = c->h2o_read;
    if (!err && !c->killed) {
        size_t n = sock->bytes_read < sock->input->size ? sock->bytes_read : sock->input->size;
        const uint8_t *p = (const uint8_t *)sock->input->bytes + sock->input->size - n;
        if (!c->h2 && n >= 24 && !memcmp(p, H2_PREFACE, 24))
            c->h2 = 1; /* prior knowledge, or the first bytes after a 101 upgrade */
        const char *why = c->h2 ? h2_feed(c, p, n) : h1_inspect(c);
        if (why) {
            mark_killed(c, why);
            err = "closed by vkbridge's connection guard";
            if (c->refusal)
                return; /* TLS: h2o's socket is writing the answer; on_refusal_sent closes */
        }
    }
    int alive = 1;
    c->alive = &alive;
    next(sock, err);
    if (alive) {
        c->alive = NULL;
        wrap(c);
    }
}

static void on_conn_close(void *data)
{
    svc_conn *c = data;
    svc_guard *g = &c->srv->guard;
    if (c->alive)
        *c->alive = 0;
    set_unfinished(c, 0);
    for (svc_call *call = c->calls; call; call = call->conn_next)
        call->conn = NULL;
    if (c->prev)
        c->prev->next = c->next;
    else
        g->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    g->n_conns--;
    free(c->refusal);
    free(c);
}

/* ---------------------------------------------------------------- accept */

static void on_backoff_done(h2o_timeout_entry_t *entry)
{
    svc_server *srv = H2O_STRUCT_FROM_MEMBER(svc_server, guard.backoff_entry, entry);
    srv->guard.backing_off = 0;
    if (srv->listener)
        h2o_socket_read_start(srv->listener, svc_guard_on_accept);
}

/* accept() failed for want of descriptors: the listener stays readable, so polling it again
 * at once would spin. Stop reading it for a while. */
static void back_off(svc_server *srv, int err)
{
    svc_guard *g = &srv->guard;
    if (g->emfile_events++ % 100 == 0)
        vkb_log(VKB_LOG_WARN, "accept: %s (%d connections open); not accepting for %d ms",
                strerror(err), g->n_conns, BACKOFF_MS);
    h2o_socket_read_stop(srv->listener);
    g->backing_off = 1;
    g->backoff_entry.cb = on_backoff_done;
    h2o_timeout_link(srv->loop, &g->backoff_timeout, &g->backoff_entry);
}

/* The TLS handshake is over (h2o_accept's on_ssl_handshake_complete, with the guard in it).
 * h2o has decrypted whatever application bytes came with the handshake's last flight into
 * sock->input; the guard reads them, as it reads every later chunk in guarded_read, before
 * h2o's protocol handler parses them in its accept. */
static void on_tls_handshake(h2o_socket_t *sock, const char *err)
{
    svc_conn *c = sock->on_close.data;
    svc_server *srv = c->srv;
    c->handshaking = 0;
    if (err || c->killed) {
        h2o_socket_close(sock);
        return;
    }
    c->h2 = h2_by_alpn(sock);
    const char *why = NULL;
    if (sock->input->size)
        why = c->h2 ? h2_feed(c, (const uint8_t *)sock->input->bytes, sock->input->size)
                    : h1_inspect(c);
    if (why) {
        mark_killed(c, why);
        if (!c->refusal) /* else on_refusal_sent closes once the answer is out */
            h2o_socket_close(sock);
        return;
    }
    int alive = 1;
    c->alive = &alive;
    if (c->h2)
        h2o_http2_accept(&srv->accept_ctx, sock, c->connected_at);
    else
        h2o_http1_accept(&srv->accept_ctx, sock, c->connected_at);
    if (alive) {
        c->alive = NULL;
        wrap(c);
    }
}

void svc_guard_on_accept(h2o_socket_t *listener, const char *err)
{
    svc_server *srv = listener->data;
    svc_guard *g = &srv->guard;
    if (err)
        return;
    for (;;) {
        int fd = accept4(srv->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                back_off(srv, errno);
            return; /* EAGAIN: none left; others (ECONNABORTED ...) are the client's */
        }
        if (g->n_conns >= g->max_conns) {
            close(fd);
            g->refused_conns++;
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        svc_conn *c = calloc(1, sizeof(*c));
        if (!c) {
            close(fd);
            continue;
        }
        h2o_socket_t *sock = h2o_evloop_socket_create(srv->loop, fd,
                                                      H2O_SOCKET_FLAG_IS_ACCEPTED_CONNECTION);
        c->srv = srv;
        c->sock = sock;
        c->fd = fd;
        c->accepted_at = svc_now_mono();
        c->next = g->conns;
        if (g->conns)
            g->conns->prev = c;
        g->conns = c;
        g->n_conns++;
        sock->on_close.cb = on_conn_close;
        sock->on_close.data = c;
        c->connected_at = *h2o_get_timestamp(&srv->ctx, NULL, NULL);
        if (srv->accept_ctx.ssl_ctx) {
            c->handshaking = 1;
            h2o_socket_ssl_handshake(sock, srv->accept_ctx.ssl_ctx, NULL, on_tls_handshake);
            continue;
        }
        int alive = 1;
        c->alive = &alive;
        h2o_http1_accept(&srv->accept_ctx, sock, c->connected_at); /* as h2o_accept does */
        if (alive) {
            c->alive = NULL;
            wrap(c);
        }
    }
}

void svc_guard_rewrap(svc_server *srv)
{
    for (svc_conn *c = srv->guard.conns; c; c = c->next)
        wrap(c);
}

/* ---------------------------------------------------------------- timers */

static void on_sweep(h2o_timeout_entry_t *entry)
{
    svc_server *srv = H2O_STRUCT_FROM_MEMBER(svc_server, guard.sweep_entry, entry);
    double now = svc_now_mono(), limit = srv->cfg.io_timeout_s;
    for (svc_conn *c = srv->guard.conns; c; c = c->next) {
        if (c->linger_until && now > c->linger_until)
            shutdown(c->fd, SHUT_RDWR); /* on_linger_read sees the end and closes */
        if (c->killed)
            continue;
        if (c->handshaking && now - c->accepted_at > limit) {
            kill_later(c, "TLS handshake unfinished after --timeout");
            continue;
        }
        for (int i = 0; i < SVC_GUARD_MAX_STREAMS; i++)
            if (c->streams[i].id && now - c->streams[i].opened_at > limit) {
                kill_later(c, "HTTP/2 request unfinished after --timeout");
                break;
            }
        for (svc_call *call = c->calls; call && !c->killed; call = call->conn_next)
            if (call->responded && now - call->responded_at > limit)
                kill_later(c, "response not read for --timeout");
    }
    h2o_timeout_link(srv->loop, &srv->guard.sweep_timeout, &srv->guard.sweep_entry);
}

void svc_guard_init(svc_server *srv)
{
    svc_guard *g = &srv->guard;
    struct rlimit rl;
    long nofile = 1024;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        if (rl.rlim_cur < rl.rlim_max) {
            rlim_t want = rl.rlim_max == RLIM_INFINITY ? 1048576 : rl.rlim_max;
            struct rlimit up = {want, rl.rlim_max};
            if (setrlimit(RLIMIT_NOFILE, &up) == 0)
                rl.rlim_cur = want;
        }
        nofile = rl.rlim_cur == RLIM_INFINITY ? 1048576 : (long)rl.rlim_cur;
    }
    /* keep descriptors for model files, the device, the pool and the listener */
    long fit = nofile - 64 > 16 ? nofile - 64 : 16;
    g->max_conns = srv->cfg.max_connections < fit ? srv->cfg.max_connections : (int)fit;
    g->max_unfinished = srv->cfg.max_inflight_body;
    g->max_conn_unfinished = 2 * srv->cfg.max_body + (1u << 20);
    if (g->max_conn_unfinished > g->max_unfinished)
        g->max_conn_unfinished = g->max_unfinished;
    h2o_timeout_init(srv->loop, &g->sweep_timeout, SWEEP_MS);
    h2o_timeout_init(srv->loop, &g->backoff_timeout, BACKOFF_MS);
    g->sweep_entry.cb = on_sweep;
    h2o_timeout_link(srv->loop, &g->sweep_timeout, &g->sweep_entry);
    vkb_log(VKB_LOG_DEBUG, "guard: %ld descriptors, %d connections, %zu bytes of unfinished "
            "bodies (%zu per connection)", nofile, g->max_conns, g->max_unfinished,
            g->max_conn_unfinished);
}

void svc_guard_stop(svc_server *srv)
{
    h2o_timeout_unlink(&srv->guard.sweep_entry);
    h2o_timeout_unlink(&srv->guard.backoff_entry);
}

/* ---------------------------------------------------------------- requests */

static svc_conn *conn_of(h2o_req_t *req)
{
    if (!req->conn || !req->conn->callbacks || !req->conn->callbacks->get_socket)
        return NULL;
    h2o_socket_t *sock = req->conn->callbacks->get_socket(req->conn);
    return sock && sock->on_close.cb == on_conn_close ? sock->on_close.data : NULL;
}

void svc_guard_call_begin(svc_call *call, int authorized)
{
    svc_conn *c = conn_of(call->req);
    call->conn = c;
    if (!c)
        return;
    if (authorized)
        c->proven = 1;
    call->conn_prev = NULL;
    call->conn_next = c->calls;
    if (c->calls)
        c->calls->conn_prev = call;
    c->calls = call;
    if (!c->h2)
        set_unfinished(c, 0);
}

void svc_guard_call_end(svc_call *call)
{
    svc_conn *c = call->conn;
    if (!c)
        return;
    if (call->conn_prev)
        call->conn_prev->conn_next = call->conn_next;
    else
        c->calls = call->conn_next;
    if (call->conn_next)
        call->conn_next->conn_prev = call->conn_prev;
    call->conn = NULL;
    if (!call->responded) { /* the client reset the stream, or the server did for it */
        const char *why = note_cancel(c);
        if (why)
            kill_later(c, why);
    }
}
