/*
 * svc_server.h — internal to service/: the server's state and the pieces that share it.
 *
 *   svc_server.c   start-up, listener, TLS, signals, the loop, graceful stop
 *   svc_http.c     one request's life: svc_call, responses, access log, metrics, h2o's own errors
 *   svc_routes.c   path + method -> handler; auth; the endpoints that do not compute
 *   svc_compute.c  /embed, /bertscore, /v1/embeddings: admission, model loads, engine jobs
 *   svc_models.c   the loop's view of models: facts cache, what each was loaded for, folders
 *
 * Threads: one event-loop thread owns everything here. Engine workers and the svc_pool
 * threads only touch a job's own result fields and then post the job's svc_msg; the loop
 * picks it up in svc_msg_dispatch. No locks, therefore, outside svc_pool and the engine.
 */
#ifndef VKB_SVC_SERVER_H
#define VKB_SVC_SERVER_H

#include "svc_admission.h"
#include "svc_docs.h"
#include "svc_errors.h"
#include "svc_metrics.h"
#include "svc_pool.h"
#include "svc_validate.h"
#include "vkb_runtime.h"
#include "vkb_service.h"

#include <openssl/ssl.h>
#include <stdatomic.h>

typedef struct svc_server svc_server;
typedef struct svc_job svc_job;

/* ---------------------------------------------------------------- one HTTP request */

/* Lives in the request's memory pool; its dispose runs when h2o frees the request (after the
 * response went out, or when the client vanished), which is how a running job learns that
 * nobody waits for it any more. */
typedef struct svc_call {
    svc_server *srv;
    h2o_req_t *req;
    svc_endpoint ep;
    svc_api api;       /* error shape */
    double t0;         /* monotonic seconds at the handler */
    svc_job *job;      /* this request's compute job, NULL if none or finished */
    struct info_task *info; /* this request's /info inventory task, NULL if none */
    int responded;
} svc_call;

/* Allocates the call for req (counted in srv->requests_in_flight until disposed). */
svc_call *svc_call_new(svc_server *srv, h2o_req_t *req, svc_endpoint ep, svc_api api);
/* Sends the response: status, Content-Type, Content-Length, body (copied), metrics and the
 * access log. extra_name/extra_value: one more header or NULL. */
void svc_respond(svc_call *call, int status, const char *content_type, const char *body,
                 size_t len, const h2o_token_t *extra_name, const char *extra_value);
/* Like svc_respond, taking ownership of a malloc'd body (NULL = out of memory -> 500). */
void svc_respond_owned(svc_call *call, int status, const char *content_type, char *body,
                       size_t len);
/* The error in the call's API shape (FastAPI or OpenAI); clears err. */
void svc_respond_error(svc_call *call, svc_error *err);
/* Shorthand for a plain-detail error. */
void svc_respond_detail(svc_call *call, int status, const char *detail);
/* Registers the filter that turns h2o's own plain-text errors (413 for oversize bodies,
 * 400 for broken framing) into JSON bodies on the host's fallback path. */
void svc_http_register_error_filter(svc_server *srv, h2o_hostconf_t *host);
double svc_now_mono(void);
double svc_now_unix(void);

/* ---------------------------------------------------------------- compute jobs */

typedef enum { SVC_JOB_EMBED, SVC_JOB_BERTSCORE, SVC_JOB_OPENAI } svc_job_kind;

struct svc_job {
    svc_msg msg;           /* the engine's (or pool's) result comes back through this */
    svc_task task;         /* blocking steps (model load, token-id embedding) on the pool */
    svc_server *srv;
    svc_call *call;        /* NULL once the client went away */
    svc_job_kind kind;
    unsigned long id;
    svc_waiter waiter;     /* in the admission line */
    h2o_timeout_entry_t wait_timer;
    double started_at;     /* unix seconds, when it got its slot */
    char model[256];
    int items;
    svc_embed_request embed;
    svc_bertscore_request bertscore;
    svc_openai_request openai;
    vkb_model_facts facts;
    float *out;            /* embed: (items, dim); bertscore: P, R, F of items each */
    long n_tokens;
    char *body;            /* the 200 body, shaped off the loop (NULL: out of memory) */
    size_t body_len;
    int status;            /* engine result */
    char err[512];
    atomic_int done, total; /* progress, written by the engine worker */
    svc_job *prev, *next;  /* srv->running, for /status */
};

/* Takes the body of a compute request: validates, queues for a slot, runs, answers. */
void svc_compute_handle(svc_call *call, svc_job_kind kind);
/* The client of a job went away (from the call's dispose). */
void svc_compute_abandon(svc_job *job);

/* ---------------------------------------------------------------- models */

typedef struct svc_model {
    char name[256];
    vkb_model_facts facts;
    int for_embed, for_bertscore; /* what it was used for: /info lists "embed:NAME" etc. */
} svc_model;

svc_model *svc_models_find(svc_server *srv, const char *name);
svc_model *svc_models_add(svc_server *srv, const char *name, const vkb_model_facts *facts);
/* The engine's loaded models as "embed:NAME"/"bertscore:NAME", sorted; free with
 * vkb_engine_free_names. */
int svc_models_loaded_labels(svc_server *srv, char ***labels, int *n);
/* Folder names under model_dir holding a config.json (run on a pool thread: disk I/O). */
int svc_models_scan_dir(const char *dir, char ***names, int *n);
/* Loads name and fills facts (blocking: pool threads only). Returns the engine status. */
int svc_models_load_blocking(vkb_engine *e, const char *name, vkb_model_facts *facts, char *err,
                             size_t errlen);
/* HTTP status for an engine status (VKB_ENOTFOUND -> 404, ...). */
int svc_status_for_engine(int status);

/* ---------------------------------------------------------------- the server */

struct svc_server {
    vkb_service_config cfg;
    const char *version;
    svc_limits limits;

    h2o_globalconf_t config;
    h2o_context_t ctx;
    h2o_accept_ctx_t accept_ctx;
    h2o_evloop_t *loop;
    h2o_socket_t *listener;
    SSL_CTX *ssl;
    int port;                           /* the port actually bound */
    h2o_multithread_queue_t *queue;
    h2o_multithread_receiver_t receiver;
    svc_pool *pool;
    vkb_engine *engine;

    svc_admission admission;
    h2o_timeout_t wait_timeout;         /* cfg.admission_wait_ms */
    svc_metrics metrics;
    svc_job *running;                   /* jobs holding a slot, newest first */
    unsigned long next_job_id;

    svc_model *models;                  /* facts of models loaded through the service */
    int n_models, cap_models;
    char **available;                   /* folders under model_dir (start-up scan) */
    int n_available;

    int ready;                          /* start-up models loaded: /health 200 */
    char device[128];                   /* engine device ids for /health and /info */
    char *openapi;                      /* built once */
    svc_docs docs;                      /* the /docs page and its local Swagger UI copy */
    size_t openapi_len;
    char *health[2];                    /* /health bodies: [0] loading, [1] ok; made once */
    size_t health_len[2];

    int requests_in_flight;             /* svc_calls alive */
    int jobs_outstanding;               /* jobs that still have to come back to the loop */
    int startup_pending;                /* the start-up load task has not come back */
    int stopping;                       /* no new connections; drain */
    int exit_code;
    int sig_pipe[2];                    /* signal handler -> loop */
    h2o_socket_t *sig_sock;
    h2o_timeout_t drain_timeout;
    h2o_timeout_entry_t drain_entry;
    int drain_expired;
};

/* Entry point of every request (svc_routes.c). */
int svc_routes_on_req(svc_server *srv, h2o_req_t *req);
/* The client of an /info request went away before its inventory came back. */
void svc_routes_abandon_info(struct info_task *it);
/* Stops accepting and lets the loop end once the accepted work is done (svc_server.c). */
void svc_server_begin_stop(svc_server *srv, int exit_code);

#endif
