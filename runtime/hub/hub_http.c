/*
 * hub_http.c — HEAD, small GETs and resumable downloads over libcurl for `vkbridge pull`
 * (hub_http_win32.c: the same on WinHTTP).
 *
 * Headers are read by hand (hub_hdr_line, not CURLINFO) because the facts we need live on
 * different hops of a redirect chain: the hub's 302 carries X-Linked-Etag/X-Linked-Size for
 * LFS files, while the final hop (a CDN) carries the status and Content-Range the download
 * must check.
 */
#include "hub_http.h"

#include "vkb_runtime.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct http_client {
    CURL *curl;
    struct curl_slist *headers;
    char curl_err[CURL_ERROR_SIZE];
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;
static void curl_init(void) { curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT); }

int http_client_new(const char *token, http_client **out, char *err, size_t errlen)
{
    *out = NULL;
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK) {
        vkb_set_err(err, errlen, "libcurl init failed: %s", curl_easy_strerror(curl_init_rc));
        return VKB_EIO;
    }
    http_client *c = calloc(1, sizeof *c);
    if (!c)
        return VKB_ENOMEM;
    c->curl = curl_easy_init();
    if (!c->curl) {
        free(c);
        vkb_set_err(err, errlen, "libcurl: cannot create a handle");
        return VKB_EIO;
    }
    if (token && *token) {
        size_t n = strlen(token) + 32;
        char *h = malloc(n);
        if (!h) {
            http_client_free(c);
            return VKB_ENOMEM;
        }
        snprintf(h, n, "Authorization: Bearer %s", token);
        c->headers = curl_slist_append(NULL, h);
        explicit_bzero(h, n);
        free(h);
        if (!c->headers) {
            http_client_free(c);
            return VKB_ENOMEM;
        }
    }
    *out = c;
    return VKB_OK;
}

void http_client_free(http_client *c)
{
    if (!c)
        return;
    if (c->curl)
        curl_easy_cleanup(c->curl);
    curl_slist_free_all(c->headers);
    free(c);
}

/* ---- response headers, per hop (parsed by hub_http_common.c) */

static size_t on_header(char *line, size_t size, size_t nitems, void *user)
{
    size_t n = size * nitems;
    hub_hdr_line(user, line, n);
    return n;
}

static void setup(http_client *c, const char *url, hdr_state *h)
{
    CURL *k = c->curl;
    curl_easy_reset(k);
    c->curl_err[0] = '\0';
    curl_easy_setopt(k, CURLOPT_URL, url);
    curl_easy_setopt(k, CURLOPT_USERAGENT, "vkbridge");
    if (c->headers)
        curl_easy_setopt(k, CURLOPT_HTTPHEADER, c->headers);
    curl_easy_setopt(k, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(k, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(k, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(k, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(k, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(k, CURLOPT_CONNECTTIMEOUT, 30L);
    /* A transfer slower than 1 byte/s for a minute is a stall: give up (and resume). */
    curl_easy_setopt(k, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(k, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(k, CURLOPT_ERRORBUFFER, c->curl_err);
    hub_hdr_init(h);
    curl_easy_setopt(k, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(k, CURLOPT_HEADERDATA, h);
}

static const char *curl_msg(http_client *c, CURLcode rc)
{
    return c->curl_err[0] ? c->curl_err : curl_easy_strerror(rc);
}

/* ---- GET into memory */

typedef struct mem_body {
    char *data;
    size_t len, cap, max;
} mem_body;

static size_t on_mem_write(char *ptr, size_t size, size_t nmemb, void *user)
{
    mem_body *b = user;
    size_t n = size * nmemb;
    if (b->len + n + 1 > b->max)
        return 0;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d)
            return 0;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

int http_get(http_client *c, const char *url, size_t max, char **body, size_t *len,
             long *status, char *err, size_t errlen)
{
    *body = NULL;
    *len = 0;
    hdr_state h;
    mem_body b = {calloc(1, 1), 0, 1, max};
    if (!b.data)
        return VKB_ENOMEM;
    setup(c, url, &h);
    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_mem_write);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &b);
    CURLcode rc = curl_easy_perform(c->curl);
    *status = h.status;
    if (rc != CURLE_OK) {
        if (rc == CURLE_WRITE_ERROR)
            vkb_set_err(err, errlen, "GET %s: response larger than %zu bytes", url, max);
        else
            vkb_set_err(err, errlen, "GET %s: %s", url, curl_msg(c, rc));
        free(b.data);
        return VKB_EIO;
    }
    *body = b.data;
    *len = b.len;
    return VKB_OK;
}

static size_t on_discard(char *ptr, size_t size, size_t nmemb, void *user)
{
    (void)ptr;
    (void)user;
    return size * nmemb;
}

/* HEAD follows redirects within the hub only (a relative Location, such as a renamed
 * repository), as huggingface_hub does: the hub's redirect of an LFS file to its CDN already
 * carries X-Linked-Etag/X-Linked-Size, and the CDN's URL is signed for GET, so a HEAD there
 * could be refused. */
int http_head(http_client *c, const char *url, http_meta *meta, char *err, size_t errlen)
{
    memset(meta, 0, sizeof *meta);
    char *next = strdup(url);
    if (!next)
        return VKB_ENOMEM;
    int rc = VKB_EIO;
    for (int hop = 0; hop < 10; hop++) {
        hdr_state h;
        setup(c, next, &h);
        curl_easy_setopt(c->curl, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(c->curl, CURLOPT_NOBODY, 1L);
        curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_discard);
        CURLcode crc = curl_easy_perform(c->curl);
        if (crc != CURLE_OK) {
            vkb_set_err(err, errlen, "HEAD %s: %s", next, curl_msg(c, crc));
            goto cleanup;
        }
        meta->status = h.status;
        snprintf(meta->etag, sizeof meta->etag, "%s", h.linked_etag[0] ? h.linked_etag : h.etag);
        meta->size = h.linked_size >= 0 ? h.linked_size : h.length;
        rc = VKB_OK;
        if (h.status < 300 || h.status >= 400)
            goto cleanup;
        char *target = NULL;
        curl_easy_getinfo(c->curl, CURLINFO_REDIRECT_URL, &target);
        if (!h.location_relative || !target) {
            if (h.linked_etag[0])
                meta->status = 200; /* the file's facts are here; its bytes are elsewhere */
            goto cleanup;
        }
        char *copy = strdup(target);
        if (!copy) {
            rc = VKB_ENOMEM;
            goto cleanup;
        }
        free(next);
        next = copy;
    }
    vkb_set_err(err, errlen, "HEAD %s: too many redirects", url);
    rc = VKB_EIO;
cleanup:
    free(next);
    return rc;
}

/* ---- resumable download to a file */

typedef struct dl_state {
    FILE *f;
    hdr_state h;
    long long have;        /* bytes in the file before this transfer */
    long long got;         /* bytes written by this transfer */
    int started;           /* the first body byte arrived and the status was checked */
    int bad_status;        /* aborted: the final status was not 200/206 */
    int bad_range;         /* aborted: 206 for another offset than asked */
    int write_failed;      /* aborted: local write error */
    /* progress bar */
    int progress;
    const char *label;
    double t0, last_draw;
} dl_state;

static size_t on_file_write(char *ptr, size_t size, size_t nmemb, void *user)
{
    dl_state *d = user;
    size_t n = size * nmemb;
    if (!d->started) {
        d->started = 1;
        if (d->h.status == 206) {
            if (d->h.range_start != d->have) {
                d->bad_range = 1;
                return 0;
            }
        } else if (d->h.status == 200) {
            if (d->have > 0 && ftruncate(fileno(d->f), 0) != 0) {
                d->write_failed = 1;
                return 0;
            }
            d->have = 0; /* the server ignored the Range: start over */
        } else {
            d->bad_status = 1;
            return 0;
        }
    }
    if (fwrite(ptr, 1, n, d->f) != n) {
        d->write_failed = 1;
        return 0;
    }
    d->got += (long long)n;
    return n;
}

static void draw_bar(const dl_state *d, long long total, int final)
{
    hub_progress_draw(d->label, d->have + d->got, d->got, total, d->t0, final);
}

static int on_progress(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    dl_state *d = user;
    double t = hub_now_s();
    if (d->progress && t - d->last_draw >= 0.1) {
        d->last_draw = t;
        draw_bar(d, dltotal > 0 ? d->have + (long long)dltotal : -1, 0);
    }
    return 0;
}

int http_download(http_client *c, const char *url, const char *path, long long expect_size,
                  const char *label, int progress, int *retryable, char *err, size_t errlen)
{
    *retryable = 0;
    dl_state d;
    memset(&d, 0, sizeof d);
    d.f = fopen(path, "ab");
    if (!d.f) {
        vkb_set_err(err, errlen, "cannot write %s: %m", path);
        return VKB_EIO;
    }
    struct stat st;
    d.have = fstat(fileno(d.f), &st) == 0 ? (long long)st.st_size : 0;
    if (expect_size >= 0 && d.have > expect_size) {
        if (ftruncate(fileno(d.f), 0) != 0) {
            vkb_set_err(err, errlen, "cannot truncate %s: %m", path);
            fclose(d.f);
            return VKB_EIO;
        }
        d.have = 0;
    }
    if (expect_size >= 0 && d.have == expect_size) {
        fclose(d.f);
        return VKB_OK; /* complete already: the caller verifies it */
    }
    d.progress = progress;
    d.label = label ? label : "";
    d.t0 = hub_now_s();
    setup(c, url, &d.h);
    char range[48];
    if (d.have > 0) {
        snprintf(range, sizeof range, "%lld-", d.have);
        curl_easy_setopt(c->curl, CURLOPT_RANGE, range);
    }
    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_file_write);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &d);
    curl_easy_setopt(c->curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c->curl, CURLOPT_XFERINFODATA, &d);
    CURLcode rc = curl_easy_perform(c->curl);
    long status = d.h.status;
    if (rc == CURLE_OK && !d.started && status == 200 && d.have > 0 &&
        ftruncate(fileno(d.f), 0) != 0) /* an empty 200 to a Range request: the file is empty */
        d.write_failed = 1;
    int closed_ok = fclose(d.f) == 0;
    if (progress && (d.got > 0 || rc == CURLE_OK))
        draw_bar(&d, expect_size, 1);

    if (d.write_failed || !closed_ok) {
        vkb_set_err(err, errlen, "cannot write %s: %m", path);
        return VKB_EIO;
    }
    if (d.bad_range) {
        vkb_set_err(err, errlen, "GET %s: the server resumed at byte %lld, not %lld", url,
                    d.h.range_start, d.have);
        *retryable = 1;
        return VKB_EIO;
    }
    if (status == 416 && d.have > 0)
        return VKB_OK; /* nothing left to send: the caller's size and hash checks decide */
    if (d.bad_status || (rc == CURLE_OK && status != 200 && status != 206)) {
        vkb_set_err(err, errlen, "GET %s: HTTP %ld", url, status);
        *retryable = hub_http_retryable(status);
        return VKB_EIO;
    }
    if (rc != CURLE_OK) {
        vkb_set_err(err, errlen, "GET %s broke off after %lld bytes: %s", url, d.have + d.got,
                    curl_msg(c, rc));
        *retryable = 1;
        return VKB_EIO;
    }
    return VKB_OK;
}
