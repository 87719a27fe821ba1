/*
 * svc_errors.h — one error, two wire shapes.
 *
 * Endpoints of the original service answer errors the way FastAPI does:
 *   {"detail": "message"}                                    400, 401, 404, 405, 413, 503, 500
 *   {"detail": [{"loc": [...], "msg": "...", "type": "..."}]} 422 (request validation)
 * /v1/... answers in OpenAI's shape:
 *   {"error": {"message": "...", "type": "...", "param": ..., "code": ...}}
 * Validation errors on /v1/... use 400 (what OpenAI answers for a bad request).
 * Handlers fill one svc_error and pick the shape when they write it.
 */
#ifndef VKB_SVC_ERRORS_H
#define VKB_SVC_ERRORS_H

#include <jansson.h>
#include <stddef.h>

typedef enum { SVC_API_FASTAPI = 0, SVC_API_OPENAI = 1 } svc_api;

typedef struct svc_error {
    int status;          /* HTTP status; 0 = no error */
    char message[512];   /* the detail string (non-422) */
    json_t *items;       /* 422: array of {"loc","msg","type"[,"ctx"]}, owned; else NULL */
    char code[40];       /* OpenAI "code" ("model_not_found", "invalid_api_key"), "" = null */
} svc_error;

void svc_error_init(svc_error *e);
void svc_error_clear(svc_error *e);
/* A request-level error with a plain detail message. */
void svc_error_set(svc_error *e, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Appends one validation item and makes the error a 422. loc and ctx are stolen (ctx may be
 * NULL). At most 20 items are kept (a 10000-item request with every item wrong stays small). */
void svc_error_add_item(svc_error *e, json_t *loc, const char *type, const char *msg,
                        json_t *ctx);

/* The response body for api; malloc'd JSON text (free()), NULL only when out of memory. */
char *svc_error_body(const svc_error *e, svc_api api, size_t *len);
/* The HTTP status the error is answered with for api (422 becomes 400 on OpenAI). */
int svc_error_status(const svc_error *e, svc_api api);
/* OpenAI "type" for a status: invalid_request_error (4xx), rate_limit_error, server_error. */
const char *svc_openai_error_type(int status);

#endif
