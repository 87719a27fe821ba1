/*
 * hub_http.h — internal: the few HTTP requests `vkbridge pull` makes: the transport hub.c
 * runs on. hub_http.c implements it on libcurl (Linux), hub_http_win32.c on WinHTTP
 * (Windows); hub_http_common.c holds what both share (header parsing, the progress bar).
 * One http_client is one curl handle / WinHTTP session (connection reuse across files), used
 * by one thread. Only http:// and https:// URLs are followed, redirects included; HF_TOKEN
 * goes out as "Authorization: Bearer" and is not forwarded to another host on a redirect.
 */
#ifndef VKB_HUB_HTTP_H
#define VKB_HUB_HTTP_H

#include <stddef.h>

typedef struct http_client http_client;

/* token may be NULL or "" (no Authorization header). */
int http_client_new(const char *token, http_client **out, char *err, size_t errlen);
void http_client_free(http_client *c);

/* What a HEAD on the hub's resolve URL says about a file. For LFS files the hub answers with
 * a redirect to its CDN carrying X-Linked-Etag (the sha256) and X-Linked-Size: the HEAD stops
 * there (status reported as 200). Only redirects to a path on the same host are followed. */
typedef struct http_meta {
    long status;       /* final HTTP status */
    char etag[128];    /* unquoted, "W/" stripped; "" if none */
    long long size;    /* bytes; -1 unknown */
} http_meta;

/* GET url into *body (malloc'd, NUL-terminated, *len bytes; caller frees). Bodies longer
 * than max are refused. *status receives the HTTP status; the body is kept whatever it is.
 * VKB_EIO with a line in err when the transfer itself failed. */
int http_get(http_client *c, const char *url, size_t max, char **body, size_t *len,
             long *status, char *err, size_t errlen);

int http_head(http_client *c, const char *url, http_meta *meta, char *err, size_t errlen);

/* Downloads url into the file at path, resuming: if path already holds bytes, asks for the
 * rest with a Range request and appends (starting over if the server ignores the Range).
 * expect_size (-1 unknown) short-cuts a file that is already complete. label: shown by the
 * progress bar on stderr when progress is 1.
 * Returns VKB_OK, or VKB_EIO with a line in err; *retryable is set to 1 when trying again
 * could help (a broken or stalled transfer, a 5xx), 0 otherwise (4xx, local I/O). */
int http_download(http_client *c, const char *url, const char *path, long long expect_size,
                  const char *label, int progress, int *retryable, char *err, size_t errlen);

/* ---- shared by both transports (hub_http_common.c) */

/* What the response headers said, per hop of a redirect chain. */
typedef struct hdr_state {
    long status;            /* of the latest hop */
    char etag[128];         /* latest hop's ETag */
    long long length;       /* latest hop's Content-Length, -1 none */
    long long range_start;  /* latest hop's Content-Range start, -1 none */
    int location_relative;  /* latest hop's Location is a path on the same host */
    char location[2048];    /* latest hop's Location; "" if none or too long */
    char linked_etag[128];  /* X-Linked-Etag seen on any hop */
    long long linked_size;  /* X-Linked-Size seen on any hop, -1 none */
} hdr_state;

void hub_hdr_init(hdr_state *h);
/* One header line (or the status line, which starts a new hop), n bytes, CRLF or not. */
void hub_hdr_line(hdr_state *h, const char *line, size_t n);

/* 1 for the statuses worth retrying: 5xx, 429, 408. */
int hub_http_retryable(long status);

/* Seconds on a monotonic clock. */
double hub_now_s(void);

/* The progress bar on stderr: done bytes of total (-1 unknown), got of them by this
 * transfer since t0 (for the rate); final ends the line. */
void hub_progress_draw(const char *label, long long done, long long got, long long total,
                       double t0, int final);

#endif
