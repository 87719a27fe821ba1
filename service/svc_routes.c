/* svc_routes.c — every request enters here: route by path, check the key, check the method,
 * then the handler. The endpoints that only report (health, info, status, metrics, models,
 * openapi, docs) are written here; compute goes to svc_compute.c. */
#include "svc_auth.h"
#include "svc_docs.h"
#include "svc_openapi.h"
#include "svc_server.h"
#include "svc_shape.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { METHOD_GET, METHOD_POST } route_method;

typedef struct route {
    const char *path;
    svc_endpoint ep;
    route_method method;
} route;

static const route routes[] = {
    {"/health", SVC_EP_HEALTH, METHOD_GET},
    {"/info", SVC_EP_INFO, METHOD_GET},
    {"/status", SVC_EP_STATUS, METHOD_GET},
    {"/embed", SVC_EP_EMBED, METHOD_POST},
    {"/bertscore", SVC_EP_BERTSCORE, METHOD_POST},
    {"/v1/embeddings", SVC_EP_V1_EMBEDDINGS, METHOD_POST},
    {"/v1/models", SVC_EP_V1_MODELS, METHOD_GET},
    {"/metrics", SVC_EP_METRICS, METHOD_GET},
    {"/openapi.json", SVC_EP_OPENAPI, METHOD_GET},
    {"/docs", SVC_EP_DOCS, METHOD_GET},
    {SVC_DOCS_JS_PATH, SVC_EP_DOCS_ASSET, METHOD_GET},
    {SVC_DOCS_CSS_PATH, SVC_EP_DOCS_ASSET, METHOD_GET},
};

static const route *find_route(h2o_iovec_t path)
{
    for (size_t i = 0; i < sizeof(routes) / sizeof(*routes); i++)
        if (h2o_memis(path.base, path.len, routes[i].path, strlen(routes[i].path)))
            return &routes[i];
    return NULL;
}

static int method_allowed(const route *r, h2o_iovec_t method)
{
    if (r->method == METHOD_POST)
        return h2o_memis(method.base, method.len, H2O_STRLIT("POST"));
    return h2o_memis(method.base, method.len, H2O_STRLIT("GET")) ||
           h2o_memis(method.base, method.len, H2O_STRLIT("HEAD"));
}

static int authorized(svc_server *srv, h2o_req_t *req, int allow_bearer)
{
    svc_credentials c = {0};
    ssize_t i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("x-api-key"), -1);
    if (i >= 0) {
        c.x_api_key = req->headers.entries[i].value.base;
        c.x_api_key_len = req->headers.entries[i].value.len;
    }
    i = h2o_find_header(&req->headers, H2O_TOKEN_AUTHORIZATION, -1);
    if (i >= 0) {
        c.authorization = req->headers.entries[i].value.base;
        c.authorization_len = req->headers.entries[i].value.len;
    }
    return svc_auth_ok(srv->cfg.api_key, &c, allow_bearer);
}

/* ---------------------------------------------------------------- reporting endpoints */

/* The hottest path (readiness probes, load balancers): two bodies made once. */
static void handle_health(svc_call *call)
{
    svc_server *srv = call->srv;
    int ready = srv->ready ? 1 : 0;
    if (!srv->health[ready])
        srv->health[ready] = svc_shape_health(ready, srv->device, &srv->health_len[ready]);
    if (!srv->health[ready]) {
        svc_respond_detail(call, 500, "out of memory");
        return;
    }
    svc_respond(call, ready ? 200 : 503, "application/json", srv->health[ready],
                srv->health_len[ready], NULL, NULL);
}

static void handle_status(svc_call *call)
{
    svc_server *srv = call->srv;
    int n = 0;
    for (svc_job *j = srv->running; j; j = j->next)
        n++;
    svc_job_view *views = calloc((size_t)n + 1, sizeof(*views));
    if (!views) {
        svc_respond_detail(call, 500, "out of memory");
        return;
    }
    int i = n; /* srv->running is newest first: list oldest first */
    for (svc_job *j = srv->running; j; j = j->next) {
        svc_job_view *v = &views[--i];
        v->id = j->id;
        v->type = j->kind == SVC_JOB_BERTSCORE ? "bertscore" : "embed";
        v->started_at = j->started_at;
        v->items = j->items;
        v->model = j->model;
        v->done = atomic_load(&j->done);
        v->total = atomic_load(&j->total);
    }
    svc_status_view sv = {srv->admission.slots, srv->admission.in_use,
                          srv->admission.slots - srv->admission.in_use, srv->admission.n_waiting,
                          views, n};
    size_t len;
    char *body = svc_shape_status(&sv, &len);
    free(views);
    svc_respond_owned(call, 200, "application/json", body, len);
}

static void handle_metrics(svc_call *call)
{
    svc_server *srv = call->srv;
    vkb_engine_stats es;
    memset(&es, 0, sizeof(es));
    vkb_engine_get_stats(srv->engine, &es);
    char **names = NULL;
    int n_names = 0;
    if (vkb_engine_loaded_models(srv->engine, &names, &n_names) == VKB_OK)
        vkb_engine_free_names(names, n_names);
    svc_metrics_live live = {srv->admission.slots, srv->admission.in_use,
                             srv->admission.n_waiting, srv->requests_in_flight, n_names,
                             srv->ready, svc_now_unix()};
    size_t len;
    char *body = svc_metrics_render(&srv->metrics, &live, &es, &len);
    svc_respond_owned(call, 200, "text/plain; version=0.0.4; charset=utf-8", body, len);
}

static void handle_models(svc_call *call)
{
    svc_server *srv = call->srv;
    if (!srv->ready) {
        svc_respond_detail(call, 503, "models are loading");
        return;
    }
    char **names = NULL;
    int n = 0;
    if (vkb_engine_loaded_models(srv->engine, &names, &n) != VKB_OK) {
        svc_respond_detail(call, 500, "could not list the engine's models");
        return;
    }
    size_t len;
    char *body = svc_shape_models((const char *const *)names, n,
                                  (const char *const *)srv->available, srv->n_available, &len);
    vkb_engine_free_names(names, n);
    svc_respond_owned(call, 200, "application/json", body, len);
}

/* /info asks the Vulkan loader for fresh memory budgets: done on a pool thread. */
struct info_task {
    svc_task task;
    svc_server *srv;
    svc_call *call; /* NULL once the client went away */
    vkb_device_info *devices;
    int n_devices;
};
typedef struct info_task info_task;

static void run_inventory(svc_task *t)
{
    info_task *it = H2O_STRUCT_FROM_MEMBER(info_task, task, t);
    char err[256];
    if (vkb_vulkan_devices(&it->devices, &it->n_devices, err, sizeof(err)) != VKB_OK) {
        it->devices = NULL; /* no loader or no device: an empty inventory, honestly */
        it->n_devices = 0;
    }
}

static void on_inventory(svc_msg *msg)
{
    info_task *it = H2O_STRUCT_FROM_MEMBER(info_task, task.msg, msg);
    svc_call *call = it->call;
    svc_server *srv = it->srv;
    if (call) {
        call->info = NULL;
        vkb_engine_stats es;
        memset(&es, 0, sizeof(es));
        vkb_engine_get_stats(srv->engine, &es);
        char **labels = NULL;
        int n_labels = 0;
        svc_models_loaded_labels(srv, &labels, &n_labels);
        svc_info_view v = {srv->device, (const char *const *)labels, n_labels, srv->version,
                           vkb_vulkan_loader_version(), it->devices, it->n_devices, &es};
        size_t len;
        char *body = svc_shape_info(&v, &len);
        vkb_engine_free_names(labels, n_labels);
        svc_respond_owned(call, 200, "application/json", body, len);
    }
    srv->jobs_outstanding--;
    free(it->devices);
    free(it);
}

static void handle_info(svc_call *call)
{
    info_task *it = calloc(1, sizeof(*it));
    if (!it) {
        svc_respond_detail(call, 500, "out of memory");
        return;
    }
    it->srv = call->srv;
    it->call = call;
    call->info = it;
    it->task.run = run_inventory;
    it->task.msg.on_loop = on_inventory;
    call->srv->jobs_outstanding++;
    svc_pool_submit(call->srv->pool, &it->task);
}

void svc_routes_abandon_info(struct info_task *it) { it->call = NULL; }

/* ---------------------------------------------------------------- dispatch */

int svc_routes_on_req(svc_server *srv, h2o_req_t *req)
{
    const route *r = find_route(req->path_normalized);
    svc_endpoint ep = r ? r->ep : SVC_EP_OTHER;
    int v1 = req->path_normalized.len >= 4 && !memcmp(req->path_normalized.base, "/v1/", 4);
    svc_call *call = svc_call_new(srv, req, ep, v1 ? SVC_API_OPENAI : SVC_API_FASTAPI);

    if (ep != SVC_EP_HEALTH && !authorized(srv, req, v1)) {
        svc_error err;
        svc_error_init(&err);
        svc_error_set(&err, 401, "Unauthorized");
        snprintf(err.code, sizeof(err.code), "invalid_api_key");
        svc_respond_error(call, &err);
        return 0;
    }
    if (!r) {
        svc_respond_detail(call, 404, "Not Found");
        return 0;
    }
    if (!method_allowed(r, req->method)) {
        svc_respond_detail(call, 405, "Method Not Allowed");
        return 0;
    }
    if (req->entity.len > srv->cfg.max_body) {
        char detail[96];
        snprintf(detail, sizeof(detail), "Request body too large: the limit is %zu bytes",
                 srv->cfg.max_body);
        svc_respond_detail(call, 413, detail);
        return 0;
    }
    size_t len;
    const char *page, *type;
    switch (ep) {
    case SVC_EP_HEALTH: handle_health(call); break;
    case SVC_EP_INFO: handle_info(call); break;
    case SVC_EP_STATUS: handle_status(call); break;
    case SVC_EP_METRICS: handle_metrics(call); break;
    case SVC_EP_V1_MODELS: handle_models(call); break;
    case SVC_EP_EMBED: svc_compute_handle(call, SVC_JOB_EMBED); break;
    case SVC_EP_BERTSCORE: svc_compute_handle(call, SVC_JOB_BERTSCORE); break;
    case SVC_EP_V1_EMBEDDINGS: svc_compute_handle(call, SVC_JOB_OPENAI); break;
    case SVC_EP_OPENAPI:
        svc_respond(call, 200, "application/json", srv->openapi, srv->openapi_len, NULL, NULL);
        break;
    case SVC_EP_DOCS:
        svc_respond(call, 200, "text/html; charset=utf-8", srv->docs.page, srv->docs.page_len,
                    NULL, NULL);
        break;
    case SVC_EP_DOCS_ASSET:
        page = svc_docs_asset(&srv->docs, req->path_normalized.base, req->path_normalized.len,
                              &type, &len);
        if (page)
            svc_respond(call, 200, type, page, len, NULL, NULL);
        else
            svc_respond_detail(call, 404, "Not Found (no --docs-assets: /docs uses the CDN)");
        break;
    default: svc_respond_detail(call, 404, "Not Found"); break;
    }
    return 0;
}
