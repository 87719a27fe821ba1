/*
 * hub_http_win32.c — hub_http.h on WinHTTP (winhttp.dll), for the Windows build: HEAD, small
 * GETs and resumable downloads, as hub_http.c does them on libcurl.
 *
 * Redirects are followed here, hop by hop, rather than by WinHTTP: each hop's raw headers go
 * through hub_hdr_line (X-Linked-Etag lives on the hub's 302, Content-Range on the CDN's
 * answer), only http:// and https:// targets are taken, and the Authorization header goes
 * only to the host the request started at (what curl does). URLs are ASCII (the hub's are:
 * checked names, hex, percent-encoded CDN paths).
 */
#include "hub_http.h"

#include "vkb_runtime.h"

#include <windows.h>
#include <winhttp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

enum { MAX_HOPS = 10, URL_MAX = 4096, CHUNK = 1 << 16 };

struct http_client {
    HINTERNET session;
    char *token; /* NULL: no Authorization header */
};

int http_client_new(const char *token, http_client **out, char *err, size_t errlen)
{
    *out = NULL;
    http_client *c = calloc(1, sizeof *c);
    if (!c)
        return VKB_ENOMEM;
    if (token && *token && !(c->token = strdup(token))) {
        free(c);
        return VKB_ENOMEM;
    }
    c->session = WinHttpOpen(L"vkbridge", WINHTTP_ACCESS_TYPE_DEFAULT_PROXY,
                             WINHTTP_NO_PROXY_NAME, WINHTTP_NO_PROXY_BYPASS, 0);
    if (!c->session) {
        vkb_set_err(err, errlen, "WinHTTP: cannot open a session (error %lu)",
                    (unsigned long)GetLastError());
        http_client_free(c);
        return VKB_EIO;
    }
    /* Connect within 30 s; a receive idle for 60 s is a stall (curl's LOW_SPEED limit). */
    WinHttpSetTimeouts(c->session, 0, 30000, 30000, 60000);
    *out = c;
    return VKB_OK;
}

void http_client_free(http_client *c)
{
    if (!c)
        return;
    if (c->session)
        WinHttpCloseHandle(c->session);
    if (c->token) {
        SecureZeroMemory(c->token, strlen(c->token));
        free(c->token);
    }
    free(c);
}

/* The few WinHTTP errors a pull meets, in words like curl's. */
static void win_msg(DWORD e, char *out, size_t outlen)
{
    const char *m = NULL;
    switch (e) {
    case ERROR_WINHTTP_CANNOT_CONNECT: m = "could not connect to the server"; break;
    case ERROR_WINHTTP_CONNECTION_ERROR: m = "connection reset"; break;
    case ERROR_WINHTTP_TIMEOUT: m = "operation timed out"; break;
    case ERROR_WINHTTP_NAME_NOT_RESOLVED: m = "could not resolve host"; break;
    case ERROR_WINHTTP_SECURE_FAILURE: m = "TLS certificate or handshake failure"; break;
    case ERROR_WINHTTP_INVALID_SERVER_RESPONSE: m = "invalid server response"; break;
    case ERROR_WINHTTP_REDIRECT_FAILED: m = "redirect failed"; break;
    default: break;
    }
    if (m)
        snprintf(out, outlen, "%s (WinHTTP error %lu)", m, (unsigned long)e);
    else
        snprintf(out, outlen, "WinHTTP error %lu", (unsigned long)e);
}

/* ---- URLs */

typedef struct url_parts {
    int secure;
    char origin[512]; /* "http://host:port", for relative redirects and the auth check */
    wchar_t host[256];
    INTERNET_PORT port;
    wchar_t path[URL_MAX];
} url_parts;

static int to_wide(const char *s, size_t n, wchar_t *out, size_t outlen)
{
    if (n + 1 > outlen)
        return -1;
    int k = n ? MultiByteToWideChar(CP_UTF8, 0, s, (int)n, out, (int)outlen - 1) : 0;
    if (n && k <= 0)
        return -1;
    out[k] = L'\0';
    return 0;
}

/* scheme://host[:port][/path]; only http and https. */
static int parse_url(const char *url, url_parts *u)
{
    memset(u, 0, sizeof *u);
    const char *rest;
    if (!strncasecmp(url, "http://", 7)) {
        rest = url + 7;
        u->port = 80;
    } else if (!strncasecmp(url, "https://", 8)) {
        rest = url + 8;
        u->secure = 1;
        u->port = 443;
    } else {
        return -1;
    }
    size_t hostlen = strcspn(rest, "/?#");
    const char *path = rest + hostlen;
    if (hostlen == 0 || hostlen >= sizeof u->origin - 16 || strchr(path, '#'))
        return -1;
    const char *colon = NULL;
    for (const char *s = rest; s < path; s++)
        if (*s == ':')
            colon = s;
    if (rest[0] == '[') { /* [v6]:port: the last ':' after ']' */
        const char *close = memchr(rest, ']', hostlen);
        if (!close)
            return -1;
        if (colon && colon < close)
            colon = NULL;
    }
    size_t namelen = colon ? (size_t)(colon - rest) : hostlen;
    if (colon) {
        char *end;
        long p = strtol(colon + 1, &end, 10);
        if (end != path || p <= 0 || p > 65535)
            return -1;
        u->port = (INTERNET_PORT)p;
    }
    if (to_wide(rest, namelen, u->host, sizeof u->host / sizeof *u->host) != 0)
        return -1;
    snprintf(u->origin, sizeof u->origin, "%s://%.*s", u->secure ? "https" : "http",
             (int)hostlen, rest);
    if (colon == NULL) /* the same origin written with or without its default port */
        snprintf(u->origin + strlen(u->origin), sizeof u->origin - strlen(u->origin), ":%u",
                 (unsigned)u->port);
    if (!*path)
        path = "/";
    return to_wide(path, strlen(path), u->path, sizeof u->path / sizeof *u->path);
}

/* The next hop's URL from a Location: absolute http(s), or a path on this hop's host. */
static int next_url(const url_parts *cur, const char *location, char *out, size_t outlen)
{
    int k;
    if (!strncasecmp(location, "http://", 7) || !strncasecmp(location, "https://", 8))
        k = snprintf(out, outlen, "%s", location);
    else if (location[0] == '/' && location[1] != '/')
        k = snprintf(out, outlen, "%s%s", cur->origin, location);
    else
        return -1;
    return k < 0 || (size_t)k >= outlen ? -1 : 0;
}

/* ---- one request, redirects followed when follow is 1 */

typedef struct request {
    HINTERNET conn, req;
    hdr_state h;
    char url[URL_MAX]; /* the hop h describes */
} request;

static void request_close(request *r)
{
    if (r->req)
        WinHttpCloseHandle(r->req);
    if (r->conn)
        WinHttpCloseHandle(r->conn);
    r->req = r->conn = NULL;
}

/* The hop's raw headers, one line at a time, into r->h. */
static int read_headers(request *r)
{
    DWORD bytes = 0;
    WinHttpQueryHeaders(r->req, WINHTTP_QUERY_RAW_HEADERS_CRLF, WINHTTP_HEADER_NAME_BY_INDEX,
                        NULL, &bytes, WINHTTP_NO_HEADER_INDEX);
    if (GetLastError() != ERROR_INSUFFICIENT_BUFFER || bytes == 0)
        return -1;
    wchar_t *w = malloc(bytes + sizeof(wchar_t));
    if (!w)
        return -1;
    if (!WinHttpQueryHeaders(r->req, WINHTTP_QUERY_RAW_HEADERS_CRLF,
                             WINHTTP_HEADER_NAME_BY_INDEX, w, &bytes, WINHTTP_NO_HEADER_INDEX)) {
        free(w);
        return -1;
    }
    int wn = (int)(bytes / sizeof(wchar_t));
    int n = WideCharToMultiByte(CP_UTF8, 0, w, wn, NULL, 0, NULL, NULL);
    char *s = n > 0 ? malloc((size_t)n + 1) : NULL;
    if (!s) {
        free(w);
        return -1;
    }
    WideCharToMultiByte(CP_UTF8, 0, w, wn, s, n, NULL, NULL);
    s[n] = '\0';
    free(w);
    for (char *line = s; *line;) {
        size_t len = strcspn(line, "\r\n");
        if (len)
            hub_hdr_line(&r->h, line, len);
        line += len;
        while (*line == '\r' || *line == '\n')
            line++;
    }
    free(s);
    return 0;
}

/* Sends method url (with "Range: bytes=range_from-" when range_from > 0) and reads the
 * answer's headers into r; with follow, 3xx answers are followed up to MAX_HOPS. r stays
 * open on the last hop for its body. VKB_EIO with "METHOD URL: why" in err. */
static int request_open(http_client *c, const char *method, const char *url,
                        long long range_from, int follow, request *r, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    hub_hdr_init(&r->h);
    url_parts first, u;
    wchar_t wmethod[8];
    char msg[160];
    if (parse_url(url, &first) != 0 || snprintf(r->url, sizeof r->url, "%s", url) >=
                                           (int)sizeof r->url) {
        vkb_set_err(err, errlen, "%s %s: not an http:// or https:// URL", method, url);
        return VKB_EIO;
    }
    to_wide(method, strlen(method), wmethod, 8);
    u = first;
    for (int hop = 0; hop < MAX_HOPS; hop++) {
        /* "Authorization: Bearer T\r\nRange: bytes=N-\r\n"; the token only to the first origin */
        size_t tlen = c->token ? strlen(c->token) : 0;
        size_t hcap = tlen + 96;
        char *hdr = malloc(hcap);
        wchar_t *whdr = malloc(hcap * sizeof *whdr);
        if (!hdr || !whdr) {
            free(hdr);
            free(whdr);
            return VKB_ENOMEM;
        }
        hdr[0] = '\0';
        if (c->token && !strcmp(u.origin, first.origin))
            snprintf(hdr, hcap, "Authorization: Bearer %s\r\n", c->token);
        if (range_from > 0)
            snprintf(hdr + strlen(hdr), hcap - strlen(hdr), "Range: bytes=%lld-\r\n",
                     range_from);
        to_wide(hdr, strlen(hdr), whdr, hcap);
        SecureZeroMemory(hdr, hcap);
        free(hdr);
        DWORD no_redirects = WINHTTP_DISABLE_REDIRECTS;
        BOOL ok = (r->conn = WinHttpConnect(c->session, u.host, u.port, 0)) != NULL &&
                  (r->req = WinHttpOpenRequest(r->conn, wmethod, u.path, NULL,
                                               WINHTTP_NO_REFERER,
                                               WINHTTP_DEFAULT_ACCEPT_TYPES,
                                               u.secure ? WINHTTP_FLAG_SECURE : 0)) != NULL &&
                  WinHttpSetOption(r->req, WINHTTP_OPTION_DISABLE_FEATURE, &no_redirects,
                                   sizeof no_redirects) &&
                  WinHttpSendRequest(r->req, whdr[0] ? whdr : WINHTTP_NO_ADDITIONAL_HEADERS,
                                     whdr[0] ? (DWORD)-1L : 0, WINHTTP_NO_REQUEST_DATA, 0, 0,
                                     0) &&
                  WinHttpReceiveResponse(r->req, NULL);
        DWORD e = GetLastError();
        SecureZeroMemory(whdr, hcap * sizeof *whdr);
        free(whdr);
        if (!ok) {
            win_msg(e, msg, sizeof msg);
            vkb_set_err(err, errlen, "%s %s: %s", method, r->url, msg);
            request_close(r);
            return VKB_EIO;
        }
        if (read_headers(r) != 0) {
            vkb_set_err(err, errlen, "%s %s: unreadable response headers", method, r->url);
            request_close(r);
            return VKB_EIO;
        }
        long st = r->h.status;
        int redirect = st == 301 || st == 302 || st == 303 || st == 307 || st == 308;
        if (!follow || !redirect || !r->h.location[0])
            return VKB_OK;
        char next[URL_MAX];
        if (next_url(&u, r->h.location, next, sizeof next) != 0 || parse_url(next, &u) != 0) {
            vkb_set_err(err, errlen, "%s %s: redirect to an unsupported URL", method, r->url);
            request_close(r);
            return VKB_EIO;
        }
        request_close(r);
        snprintf(r->url, sizeof r->url, "%s", next);
    }
    vkb_set_err(err, errlen, "%s %s: too many redirects", method, url);
    return VKB_EIO;
}

/* ---- GET into memory */

int http_get(http_client *c, const char *url, size_t max, char **body, size_t *len,
             long *status, char *err, size_t errlen)
{
    *body = NULL;
    *len = 0;
    *status = 0;
    request r;
    int rc = request_open(c, "GET", url, 0, 1, &r, err, errlen);
    if (rc != VKB_OK)
        return rc;
    *status = r.h.status;
    size_t n = 0, cap = 4096;
    char *data = malloc(cap);
    rc = data ? VKB_OK : VKB_ENOMEM;
    while (rc == VKB_OK) {
        if (cap - n < CHUNK + 1) {
            char *d = cap * 2 <= max + CHUNK + 1 ? realloc(data, cap * 2) : NULL;
            if (!d) {
                vkb_set_err(err, errlen, "GET %s: response larger than %zu bytes", url, max);
                rc = VKB_EIO;
                break;
            }
            data = d;
            cap *= 2;
        }
        DWORD got = 0;
        if (!WinHttpReadData(r.req, data + n, CHUNK, &got)) {
            char msg[160];
            win_msg(GetLastError(), msg, sizeof msg);
            vkb_set_err(err, errlen, "GET %s: %s", url, msg);
            rc = VKB_EIO;
            break;
        }
        if (got == 0)
            break;
        n += got;
        if (n + 1 > max) {
            vkb_set_err(err, errlen, "GET %s: response larger than %zu bytes", url, max);
            rc = VKB_EIO;
        }
    }
    request_close(&r);
    if (rc != VKB_OK) {
        free(data);
        return rc;
    }
    data[n] = '\0';
    *body = data;
    *len = n;
    return VKB_OK;
}

/* HEAD follows redirects within the hub only (a relative Location), as hub_http.c does:
 * the hub's redirect of an LFS file to its CDN already carries X-Linked-Etag/X-Linked-Size,
 * and the CDN's URL is signed for GET, so a HEAD there could be refused. */
int http_head(http_client *c, const char *url, http_meta *meta, char *err, size_t errlen)
{
    memset(meta, 0, sizeof *meta);
    char next[URL_MAX];
    if (snprintf(next, sizeof next, "%s", url) >= (int)sizeof next) {
        vkb_set_err(err, errlen, "HEAD %s: URL too long", url);
        return VKB_EIO;
    }
    char linked_etag[128] = "";
    long long linked_size = -1;
    for (int hop = 0; hop < MAX_HOPS; hop++) {
        request r;
        int rc = request_open(c, "HEAD", next, 0, 0, &r, err, errlen);
        if (rc != VKB_OK)
            return rc;
        const hdr_state *h = &r.h;
        if (h->linked_etag[0])
            snprintf(linked_etag, sizeof linked_etag, "%s", h->linked_etag);
        if (h->linked_size >= 0)
            linked_size = h->linked_size;
        meta->status = h->status;
        snprintf(meta->etag, sizeof meta->etag, "%s", linked_etag[0] ? linked_etag : h->etag);
        meta->size = linked_size >= 0 ? linked_size : h->length;
        url_parts u;
        int more = h->status >= 300 && h->status < 400 && h->location_relative &&
                   parse_url(next, &u) == 0 &&
                   next_url(&u, h->location, next, sizeof next) == 0;
        if (h->status >= 300 && h->status < 400 && !more && linked_etag[0])
            meta->status = 200; /* the file's facts are here; its bytes are elsewhere */
        request_close(&r);
        if (!more)
            return VKB_OK;
    }
    vkb_set_err(err, errlen, "HEAD %s: too many redirects", url);
    return VKB_EIO;
}

/* ---- resumable download to a file */

int http_download(http_client *c, const char *url, const char *path, long long expect_size,
                  const char *label, int progress, int *retryable, char *err, size_t errlen)
{
    *retryable = 0;
    struct stat st;
    long long have = stat(path, &st) == 0 ? (long long)st.st_size : 0;
    if (expect_size >= 0 && have > expect_size)
        have = -1; /* longer than the file: start over */
    if (expect_size >= 0 && have == expect_size)
        return VKB_OK; /* complete already: the caller verifies it */
    FILE *f = fopen(path, have > 0 ? "ab" : "wb");
    if (!f) {
        vkb_set_err(err, errlen, "cannot write %s: %m", path);
        return VKB_EIO;
    }
    if (have < 0)
        have = 0;
    request r;
    int rc = request_open(c, "GET", url, have, 1, &r, err, errlen);
    if (rc != VKB_OK) {
        fclose(f);
        *retryable = 1;
        return rc;
    }
    long status = r.h.status;
    if (status == 416 && have > 0) {
        request_close(&r);
        fclose(f);
        return VKB_OK; /* nothing left to send: the caller's size and hash checks decide */
    }
    if (status == 206 && r.h.range_start != have) {
        vkb_set_err(err, errlen, "GET %s: the server resumed at byte %lld, not %lld", r.url,
                    r.h.range_start, have);
        request_close(&r);
        fclose(f);
        *retryable = 1;
        return VKB_EIO;
    }
    if (status != 200 && status != 206) {
        vkb_set_err(err, errlen, "GET %s: HTTP %ld", r.url, status);
        request_close(&r);
        fclose(f);
        *retryable = hub_http_retryable(status);
        return VKB_EIO;
    }
    if (status == 200 && have > 0) { /* the server ignored the Range: start over */
        have = 0;
        if (!(f = freopen(path, "wb", f))) {
            vkb_set_err(err, errlen, "cannot write %s: %m", path);
            request_close(&r);
            return VKB_EIO;
        }
    }
    long long total = expect_size >= 0 ? expect_size
                      : r.h.length >= 0 ? have + r.h.length : -1;
    long long got = 0;
    double t0 = hub_now_s(), last_draw = 0;
    char *buf = malloc(CHUNK);
    int write_failed = !buf, broke = 0;
    char msg[160] = "";
    while (!write_failed) {
        DWORD n = 0;
        if (!WinHttpReadData(r.req, buf, CHUNK, &n)) {
            win_msg(GetLastError(), msg, sizeof msg);
            broke = 1;
            break;
        }
        if (n == 0)
            break;
        if (fwrite(buf, 1, n, f) != n) {
            write_failed = 1;
            break;
        }
        got += n;
        double t = hub_now_s();
        if (progress && t - last_draw >= 0.1) {
            last_draw = t;
            hub_progress_draw(label ? label : "", have + got, got, total, t0, 0);
        }
    }
    free(buf);
    request_close(&r);
    int closed_ok = fclose(f) == 0;
    if (progress && (got > 0 || !broke))
        hub_progress_draw(label ? label : "", have + got, got, expect_size, t0, 1);
    if (write_failed || !closed_ok) {
        vkb_set_err(err, errlen, "cannot write %s: %m", path);
        return VKB_EIO;
    }
    if (broke) {
        vkb_set_err(err, errlen, "GET %s broke off after %lld bytes: %s", url, have + got, msg);
        *retryable = 1;
        return VKB_EIO;
    }
    return VKB_OK;
}
