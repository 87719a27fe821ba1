/*
 * svc_auth.h — the shared-secret check. With API_KEY set, every path but /health needs
 * `X-API-Key: KEY`; /v1/... also accepts `Authorization: Bearer KEY` (what OpenAI clients send).
 * The comparison takes the same time whatever the bytes supplied, so response timing tells
 * nothing about how much of a guess was right.
 */
#ifndef VKB_SVC_AUTH_H
#define VKB_SVC_AUTH_H

#include <stddef.h>

/* 1 if got (got_len bytes) equals want (NUL-terminated). Runs over every byte of want
 * whatever got holds; only want's length shows in the timing. */
int svc_secret_equal(const char *want, const char *got, size_t got_len);

/* The request's credentials, as found in its headers (NULL when a header is absent). */
typedef struct svc_credentials {
    const char *x_api_key;
    size_t x_api_key_len;
    const char *authorization;   /* the whole Authorization value, "Bearer KEY" */
    size_t authorization_len;
} svc_credentials;

/* 1 if the request may pass: no key configured, or a matching X-API-Key, or (allow_bearer)
 * a matching Bearer token. */
int svc_auth_ok(const char *api_key, const svc_credentials *c, int allow_bearer);

#endif
