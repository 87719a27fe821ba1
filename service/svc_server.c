/* svc_server.c — vkb_service_run: the engine, h2o's configuration, the listener (TLS with
 * ALPN h2 when a certificate is given), the start-up model loads on a pool thread while the
 * loop already answers /health, and the stop: SIGTERM/SIGINT close the listener, ask h2o to
 * wind connections down (GOAWAY on HTTP/2, no keep-alive on HTTP/1), and the loop ends once
 * every accepted request has been answered. */
#include "svc_notify.h"
#include "svc_openapi.h"
#include "svc_server.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct svc_handler {
    h2o_handler_t super;
    svc_server *srv;
} svc_handler;

static int on_req(h2o_handler_t *self, h2o_req_t *req)
{
    return svc_routes_on_req(((svc_handler *)self)->srv, req);
}

/* ---------------------------------------------------------------- signals */

/* The handler may run on any thread; it only writes one byte into the loop's pipe. */
static volatile sig_atomic_t signal_fd = -1;

static void on_signal_handler(int sig)
{
    int saved = errno;
    char c = (char)sig;
    if (signal_fd >= 0 && write(signal_fd, &c, 1) < 0) {
        /* the pipe is full: a stop is already pending */
    }
    errno = saved;
}

static void on_signal(h2o_socket_t *sock, const char *err)
{
    svc_server *srv = sock->data;
    if (err)
        return;
    /* the socket is DONT_READ (h2o only says "readable"): drain the pipe ourselves */
    char bytes[16];
    ssize_t n = read(srv->sig_pipe[0], bytes, sizeof(bytes));
    if (n <= 0)
        return;
    if (srv->stopping) {
        vkb_log(VKB_LOG_WARN, "second signal: stopping now with %d requests unfinished",
                srv->requests_in_flight);
        srv->exit_code = 1;
        srv->drain_expired = 1;
        return;
    }
    vkb_log(VKB_LOG_INFO, "signal %d: no new connections; finishing %d accepted requests",
            bytes[0], srv->requests_in_flight);
    svc_server_begin_stop(srv, 0);
}

static int install_signals(svc_server *srv, char *err, size_t errlen)
{
    if (pipe2(srv->sig_pipe, O_NONBLOCK | O_CLOEXEC) != 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        return -1;
    }
    signal_fd = srv->sig_pipe[1];
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal_handler;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    srv->sig_sock = h2o_evloop_socket_create(srv->loop, srv->sig_pipe[0], H2O_SOCKET_FLAG_DONT_READ);
    srv->sig_sock->data = srv;
    h2o_socket_read_start(srv->sig_sock, on_signal);
    return 0;
}

/* ---------------------------------------------------------------- stop */

static void on_drain_timeout(h2o_timeout_entry_t *entry)
{
    svc_server *srv = H2O_STRUCT_FROM_MEMBER(svc_server, drain_entry, entry);
    vkb_log(VKB_LOG_ERROR, "drain timeout (%d s): %d requests unfinished", srv->cfg.drain_timeout_s,
            srv->requests_in_flight);
    srv->exit_code = 1;
    srv->drain_expired = 1;
}

void svc_server_begin_stop(svc_server *srv, int exit_code)
{
    if (srv->stopping)
        return;
    srv->stopping = 1;
    srv->exit_code = exit_code;
    svc_notify("STOPPING=1\nSTATUS=draining accepted requests");
    if (srv->listener) {
        h2o_socket_read_stop(srv->listener);
        h2o_socket_close(srv->listener);
        srv->listener = NULL;
    }
    h2o_context_request_shutdown(&srv->ctx);
    srv->drain_entry.cb = on_drain_timeout;
    h2o_timeout_link(srv->loop, &srv->drain_timeout, &srv->drain_entry);
}

static int loop_done(const svc_server *srv)
{
    if (srv->drain_expired)
        return 1;
    return srv->stopping && srv->requests_in_flight == 0 && srv->jobs_outstanding == 0 &&
           !srv->startup_pending;
}

/* ---------------------------------------------------------------- listener */

static void on_accept(h2o_socket_t *listener, const char *err)
{
    svc_server *srv = listener->data;
    if (err)
        return;
    h2o_socket_t *sock;
    while ((sock = h2o_evloop_socket_accept(listener)) != NULL)
        h2o_accept(&srv->accept_ctx, sock);
}

static int open_listener(svc_server *srv, char *err, size_t errlen)
{
    char port[16];
    snprintf(port, sizeof(port), "%d", srv->cfg.port);
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int rc = getaddrinfo(srv->cfg.host, port, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "cannot resolve --host %s: %s", srv->cfg.host, gai_strerror(rc));
        return -1;
    }
    int fd = socket(res->ai_family, res->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, SOMAXCONN) != 0) {
        snprintf(err, errlen, "cannot listen on %s:%d: %s", srv->cfg.host, srv->cfg.port,
                 strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(res);
        return -1;
    }
    freeaddrinfo(res);
    struct sockaddr_storage bound;
    socklen_t bound_len = sizeof(bound);
    getsockname(fd, (struct sockaddr *)&bound, &bound_len);
    srv->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                                  : ((struct sockaddr_in *)&bound)->sin_port);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    srv->listener = h2o_evloop_socket_create(srv->loop, fd, H2O_SOCKET_FLAG_DONT_READ);
    srv->listener->data = srv;
    h2o_socket_read_start(srv->listener, on_accept);
    return 0;
}

static int setup_tls(svc_server *srv, char *err, size_t errlen)
{
    SSL_CTX *ssl = SSL_CTX_new(TLS_server_method());
    if (!ssl) {
        snprintf(err, errlen, "TLS: cannot create a context");
        return -1;
    }
    SSL_CTX_set_min_proto_version(ssl, TLS1_2_VERSION);
    SSL_CTX_set_options(ssl, SSL_OP_NO_COMPRESSION | SSL_OP_NO_SESSION_RESUMPTION_ON_RENEGOTIATION);
    const char *what = NULL;
    if (SSL_CTX_use_certificate_chain_file(ssl, srv->cfg.tls_cert) != 1)
        what = srv->cfg.tls_cert;
    else if (SSL_CTX_use_PrivateKey_file(ssl, srv->cfg.tls_key, SSL_FILETYPE_PEM) != 1 ||
             SSL_CTX_check_private_key(ssl) != 1)
        what = srv->cfg.tls_key;
    if (what) {
        char reason[256];
        ERR_error_string_n(ERR_get_error(), reason, sizeof(reason));
        snprintf(err, errlen, "TLS: cannot use %s: %s", what, reason);
        SSL_CTX_free(ssl);
        return -1;
    }
    h2o_ssl_register_alpn_protocols(ssl, h2o_http2_alpn_protocols);
    srv->ssl = ssl;
    return 0;
}

/* ---------------------------------------------------------------- start-up models */

typedef struct startup_task {
    svc_task task;
    svc_server *srv;
    double t0;
    int status;
    char err[512];
    const char *failed;         /* the model that did not load */
    vkb_model_facts embed_facts, bertscore_facts;
    char **available;
    int n_available;
} startup_task;

static startup_task startup; /* one per process */

static void run_startup(svc_task *t)
{
    startup_task *s = H2O_STRUCT_FROM_MEMBER(startup_task, task, t);
    const vkb_service_config *cfg = &s->srv->cfg;
    svc_models_scan_dir(cfg->model_dir, &s->available, &s->n_available);
    s->status = VKB_OK;
    if (*cfg->model_embed) {
        s->status = svc_models_load_blocking(s->srv->engine, cfg->model_embed, &s->embed_facts,
                                             s->err, sizeof(s->err));
        if (s->status != VKB_OK)
            s->failed = cfg->model_embed;
    }
    if (s->status == VKB_OK && *cfg->model_bertscore) {
        s->status = svc_models_load_blocking(s->srv->engine, cfg->model_bertscore,
                                             &s->bertscore_facts, s->err, sizeof(s->err));
        if (s->status != VKB_OK)
            s->failed = cfg->model_bertscore;
    }
}

static void on_startup_done(svc_msg *msg)
{
    startup_task *s = H2O_STRUCT_FROM_MEMBER(startup_task, task.msg, msg);
    svc_server *srv = s->srv;
    srv->startup_pending = 0;
    srv->available = s->available;
    srv->n_available = s->n_available;
    if (s->status != VKB_OK) {
        vkb_log(VKB_LOG_ERROR, "cannot load model '%s': %s", s->failed, s->err);
        svc_server_begin_stop(srv, 1);
        return;
    }
    int layers = srv->cfg.bertscore_layers;
    if (*srv->cfg.model_bertscore && layers > s->bertscore_facts.num_layers) {
        vkb_log(VKB_LOG_ERROR, "--bertscore-layers %d is out of range: model '%s' has %d layers",
                layers, srv->cfg.model_bertscore, s->bertscore_facts.num_layers);
        svc_server_begin_stop(srv, 1);
        return;
    }
    svc_model *m;
    if (*srv->cfg.model_embed && (m = svc_models_add(srv, srv->cfg.model_embed, &s->embed_facts)))
        m->for_embed = 1;
    if (*srv->cfg.model_bertscore &&
        (m = svc_models_add(srv, srv->cfg.model_bertscore, &s->bertscore_facts)))
        m->for_bertscore = 1;
    srv->ready = 1;
    svc_notify("READY=1\nSTATUS=serving"); /* systemd readiness: the moment /health is 200 */
    vkb_log(VKB_LOG_INFO, "ready in %.2f s: embed '%s', bertscore '%s' on %s",
            svc_now_mono() - s->t0, srv->cfg.model_embed, srv->cfg.model_bertscore, srv->device);
}

/* ---------------------------------------------------------------- run */

static void describe_device(svc_server *srv)
{
    vkb_engine_stats es;
    memset(&es, 0, sizeof(es));
    vkb_engine_get_stats(srv->engine, &es);
    srv->device[0] = 0;
    for (int i = 0; i < es.n_devices; i++) {
        size_t at = strlen(srv->device);
        snprintf(srv->device + at, sizeof(srv->device) - at, "%s%s", i ? "," : "",
                 es.devices[i].id);
    }
    if (!srv->device[0])
        snprintf(srv->device, sizeof(srv->device), "%s", srv->cfg.device);
}

static void setup_h2o(svc_server *srv)
{
    h2o_config_init(&srv->config);
    srv->config.server_name = h2o_iovec_init(H2O_STRLIT("vkbridge"));
    /* h2o buffers a body whole before any handler runs, and over its limit HTTP/1 gets a 413
     * before the body is read but HTTP/2 only a stream reset (REFUSED_STREAM, which some
     * clients retry). So h2o's limit is twice ours: bodies between the two get a proper JSON
     * 413 from the router over both protocols; beyond that h2o refuses early. */
    srv->config.max_request_entity_size = srv->cfg.max_body * 2;
    srv->config.http1.req_timeout = (uint64_t)srv->cfg.io_timeout_s * 1000;
    srv->config.http2.idle_timeout = (uint64_t)srv->cfg.io_timeout_s * 1000;
    h2o_hostconf_t *host = h2o_config_register_host(&srv->config, h2o_iovec_init(H2O_STRLIT("default")), 65535);
    h2o_pathconf_t *path = h2o_config_register_path(host, "/", 0);
    svc_handler *handler = (svc_handler *)h2o_create_handler(path, sizeof(*handler));
    handler->srv = srv;
    handler->super.on_req = on_req;
    svc_http_register_error_filter(srv, host);

    srv->loop = h2o_evloop_create();
    h2o_context_init(&srv->ctx, srv->loop, &srv->config);
    srv->accept_ctx.ctx = &srv->ctx;
    srv->accept_ctx.hosts = srv->config.hosts;
    srv->accept_ctx.ssl_ctx = srv->ssl;

    srv->queue = h2o_multithread_create_queue(srv->loop);
    h2o_multithread_register_receiver(srv->queue, &srv->receiver, svc_msg_dispatch);
    h2o_timeout_init(srv->loop, &srv->wait_timeout, (uint64_t)srv->cfg.admission_wait_ms);
    h2o_timeout_init(srv->loop, &srv->drain_timeout, (uint64_t)srv->cfg.drain_timeout_s * 1000);
}

/* Once the loop exists, h2o's connections point into the server; they are left to the process
 * exit, and this keeps them reachable (volatile: the store must not be optimised away). */
static svc_server *volatile the_server;

int vkb_service_run(const vkb_service_config *cfg)
{
    char err[512] = "";
    int code = 1;
    signal(SIGPIPE, SIG_IGN);
    vkb_log_set_level((vkb_log_level)cfg->log_level);
    svc_server *srv = calloc(1, sizeof(*srv));
    if (!srv) {
        vkb_log(VKB_LOG_ERROR, "out of memory");
        return 1;
    }
    the_server = srv;
    srv->cfg = *cfg;
    if (srv->cfg.device == cfg->device_buf) /* the copy must point at its own buffer */
        srv->cfg.device = srv->cfg.device_buf;
    srv->version = cfg->version ? cfg->version : "unknown";
    srv->limits.max_batch_size = cfg->max_batch_size;
    srv->limits.max_text_length = cfg->max_text_length;
    svc_admission_init(&srv->admission, cfg->max_concurrent);
    svc_metrics_init(&srv->metrics, svc_now_unix());
    srv->openapi = svc_openapi_build(srv->version, &srv->openapi_len);
    srv->sig_pipe[0] = srv->sig_pipe[1] = -1;
    if (!srv->openapi) {
        vkb_log(VKB_LOG_ERROR, "out of memory building the OpenAPI document");
        goto fail;
    }
    if (svc_docs_init(&srv->docs, cfg->docs_assets, err, sizeof(err)) != 0) {
        vkb_log(VKB_LOG_ERROR, "%s", err);
        goto fail;
    }

    vkb_engine_config ec = {srv->cfg.device, cfg->model_dir, cfg->baseline_dir, cfg->embed_batch,
                            cfg->weights_f16, cfg->allow_pull};
    if (vkb_engine_create(&ec, &srv->engine, err, sizeof(err)) != VKB_OK) {
        vkb_log(VKB_LOG_ERROR, "cannot open device '%s': %s", srv->cfg.device, err);
        goto fail;
    }
    describe_device(srv);
    if (cfg->tls_cert && setup_tls(srv, err, sizeof(err)) != 0) {
        vkb_log(VKB_LOG_ERROR, "%s", err);
        goto fail;
    }
    setup_h2o(srv);
    if (open_listener(srv, err, sizeof(err)) != 0 || install_signals(srv, err, sizeof(err)) != 0) {
        vkb_log(VKB_LOG_ERROR, "%s", err);
        goto fail;
    }
    int threads = (cfg->max_concurrent < 8 ? cfg->max_concurrent : 8) + 2;
    if (svc_pool_create(threads, &srv->receiver, &srv->pool) != 0) {
        vkb_log(VKB_LOG_ERROR, "cannot start %d threads", threads);
        goto fail;
    }
    startup.srv = srv;
    startup.t0 = svc_now_mono();
    startup.task.run = run_startup;
    startup.task.msg.on_loop = on_startup_done;
    srv->startup_pending = 1;
    svc_pool_submit(srv->pool, &startup.task);

    printf("vkbridge listening on %s://%s:%d\n", srv->ssl ? "https" : "http", cfg->host, srv->port);
    fflush(stdout);
    vkb_log(VKB_LOG_INFO, "listening on %s://%s:%d (%s), device %s, %d compute slots",
            srv->ssl ? "https" : "http", cfg->host, srv->port,
            srv->ssl ? "HTTP/1.1, h2 via ALPN" : "HTTP/1.1, h2c", srv->device, cfg->max_concurrent);

    while (!loop_done(srv))
        h2o_evloop_run(srv->loop, INT32_MAX);

    /* Workers first (they may still hold work if the drain timed out), then our own state. */
    vkb_engine_destroy(srv->engine);
    srv->engine = NULL;
    svc_pool_destroy(srv->pool);
    srv->pool = NULL;
    vkb_log(VKB_LOG_INFO, "stopped (exit %d)", srv->exit_code);
    code = srv->exit_code;
    goto cleanup;

fail:
    if (srv->pool)
        svc_pool_destroy(srv->pool);
    if (srv->engine)
        vkb_engine_destroy(srv->engine);
    srv->pool = NULL;
    srv->engine = NULL;
cleanup:
    signal_fd = -1;
    for (int i = 0; i < srv->n_available; i++)
        free(srv->available[i]);
    free(srv->available);
    srv->available = NULL;
    free(srv->models);
    srv->models = NULL;
    free(srv->openapi);
    srv->openapi = NULL;
    svc_docs_free(&srv->docs);
    for (int i = 0; i < 2; i++) {
        free(srv->health[i]);
        srv->health[i] = NULL;
    }
    if (!srv->loop) { /* nothing of h2o's refers to it yet */
        the_server = NULL;
        free(srv);
    }
    return code;
}
