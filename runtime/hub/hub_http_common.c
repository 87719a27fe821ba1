/*
 * hub_http_common.c — the parts of hub_http.h both transports share: response header lines
 * read by hand (the facts pull needs live on different hops of a redirect chain: the hub's
 * 302 carries X-Linked-Etag/X-Linked-Size for LFS files, the final hop the status and
 * Content-Range), which statuses are worth a retry, and the progress bar.
 */
#include "hub_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

void hub_hdr_init(hdr_state *h)
{
    memset(h, 0, sizeof *h);
    h->length = h->range_start = h->linked_size = -1;
}

/* Copies an ETag value without W/ and quotes; an over-long one is dropped. */
static void put_etag(char *dst, size_t dstlen, const char *v, size_t n)
{
    if (n >= 2 && !strncmp(v, "W/", 2)) {
        v += 2;
        n -= 2;
    }
    while (n && *v == '"') {
        v++;
        n--;
    }
    while (n && v[n - 1] == '"')
        n--;
    if (n >= dstlen)
        n = 0;
    memcpy(dst, v, n);
    dst[n] = '\0';
}

static int header_is(const char *line, size_t n, const char *name, const char **value,
                     size_t *vlen)
{
    size_t k = strlen(name);
    if (n <= k || strncasecmp(line, name, k) || line[k] != ':')
        return 0;
    const char *v = line + k + 1;
    const char *end = line + n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    *value = v;
    *vlen = (size_t)(end - v);
    return 1;
}

static long long parse_ll(const char *v, size_t n)
{
    char buf[32];
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, v, n);
    buf[n] = '\0';
    char *end;
    long long x = strtoll(buf, &end, 10);
    return (*end || x < 0) ? -1 : x;
}

void hub_hdr_line(hdr_state *h, const char *line, size_t n)
{
    const char *v;
    size_t vl;
    if (n > 5 && !strncmp(line, "HTTP/", 5)) {
        const char *sp = memchr(line, ' ', n);
        h->status = sp ? strtol(sp + 1, NULL, 10) : 0;
        h->etag[0] = '\0';
        h->length = h->range_start = -1;
        h->location_relative = 0;
        h->location[0] = '\0';
    } else if (header_is(line, n, "ETag", &v, &vl)) {
        put_etag(h->etag, sizeof h->etag, v, vl);
    } else if (header_is(line, n, "X-Linked-Etag", &v, &vl)) {
        put_etag(h->linked_etag, sizeof h->linked_etag, v, vl);
    } else if (header_is(line, n, "Content-Length", &v, &vl)) {
        h->length = parse_ll(v, vl);
    } else if (header_is(line, n, "Location", &v, &vl)) {
        h->location_relative = vl > 0 && v[0] == '/' && (vl == 1 || v[1] != '/');
        if (vl < sizeof h->location) {
            memcpy(h->location, v, vl);
            h->location[vl] = '\0';
        }
    } else if (header_is(line, n, "X-Linked-Size", &v, &vl)) {
        h->linked_size = parse_ll(v, vl);
    } else if (header_is(line, n, "Content-Range", &v, &vl)) {
        /* "bytes START-END/TOTAL" */
        if (vl > 6 && !strncmp(v, "bytes ", 6)) {
            const char *dash = memchr(v, '-', vl);
            if (dash)
                h->range_start = parse_ll(v + 6, (size_t)(dash - v - 6));
        }
    }
}

int hub_http_retryable(long status)
{
    return status >= 500 || status == 429 || status == 408;
}

double hub_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void hub_progress_draw(const char *label, long long done, long long got, long long total,
                       double t0, int final)
{
    double secs = hub_now_s() - t0;
    double rate = secs > 0 ? (double)got / secs / 1e6 : 0;
    int width = 24, fill = total > 0 ? (int)((double)done / (double)total * width) : 0;
    char bar[32];
    for (int i = 0; i < width; i++)
        bar[i] = i < fill ? '#' : '-';
    bar[width] = '\0';
    if (total > 0)
        fprintf(stderr, "\r  %-28.28s [%s] %3d%%  %8.1f / %.1f MB  %6.1f MB/s%s", label, bar,
                (int)(100.0 * (double)done / (double)total), (double)done / 1e6,
                (double)total / 1e6, rate, final ? "\n" : "");
    else
        fprintf(stderr, "\r  %-28.28s %8.1f MB  %6.1f MB/s%s", label, (double)done / 1e6, rate,
                final ? "\n" : "");
    fflush(stderr);
}
