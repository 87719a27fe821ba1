/*
 * test_raw_client.h — byte-level clients for the hostile-traffic tests: a loopback TCP
 * connection, HTTP/2 frames written by hand (HPACK literals without indexing, no Huffman:
 * every decoder must accept them), and a reader that tells whether the server closed the
 * connection. libcurl cannot send half a body, reset a stream on purpose or keep a window
 * shut; these helpers can. Header-only, like test_service_client.h.
 */
#ifndef VKB_TEST_RAW_CLIENT_H
#define VKB_TEST_RAW_CLIENT_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { RC_DATA = 0, RC_HEADERS = 1, RC_RST_STREAM = 3, RC_SETTINGS = 4, RC_GOAWAY = 7,
       RC_WINDOW_UPDATE = 8 };
enum { RC_END_STREAM = 0x1, RC_END_HEADERS = 0x4 };

static inline double rc_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* A blocking TCP connection to 127.0.0.1:port; -1 on failure. */
static inline int rc_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

/* Writes all of buf; returns 0, or -1 once the peer is gone. */
static inline int rc_send(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Reads and discards until the peer closes (1), or timeout_s passes with it open (0). */
static inline int rc_closed_within(int fd, double timeout_s)
{
    double deadline = rc_now() + timeout_s;
    char buf[65536];
    for (;;) {
        double left = deadline - rc_now();
        if (left <= 0)
            return 0;
        struct pollfd pfd = {fd, POLLIN, 0};
        int r = poll(&pfd, 1, (int)(left * 1000) + 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return 0;
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
            return 1;
    }
}

/* One HTTP/1.1 exchange on a fresh connection: sends req (which should say Connection:
 * close), reads the answer until the server closes or timeout_s. Returns the status (0 if
 * none came); *body points into resp (NUL-terminated) after the head. */
static inline int rc_h1_exchange(int port, const char *req, size_t len, char *resp, size_t cap,
                                 const char **body, double timeout_s)
{
    *body = "";
    resp[0] = 0;
    int fd = rc_connect(port);
    if (fd < 0)
        return 0;
    rc_send(fd, req, len);
    size_t have = 0;
    double deadline = rc_now() + timeout_s;
    while (have < cap - 1 && rc_now() < deadline) {
        struct pollfd pfd = {fd, POLLIN, 0};
        if (poll(&pfd, 1, 100) <= 0)
            continue;
        ssize_t n = recv(fd, resp + have, cap - 1 - have, 0);
        if (n <= 0)
            break;
        have += (size_t)n;
    }
    close(fd);
    resp[have] = 0;
    int status = 0;
    if (sscanf(resp, "HTTP/1.%*c %d", &status) != 1)
        return 0;
    char *end = strstr(resp, "\r\n\r\n");
    *body = end ? end + 4 : "";
    return status;
}

/* ---------------------------------------------------------------- HTTP/2 */

/* Like rc_closed_within for an HTTP/2 connection, also reading the server's frames: a GOAWAY's
 * error code and last stream id go to *goaway_code / *last_stream (left alone without one). */
static inline int rc_h2_closed_within(int fd, double timeout_s, long *goaway_code,
                                      long *last_stream)
{
    double deadline = rc_now() + timeout_s;
    static uint8_t buf[1 << 20];
    size_t have = 0;
    for (;;) {
        double left = deadline - rc_now();
        if (left <= 0)
            return 0;
        struct pollfd pfd = {fd, POLLIN, 0};
        int r = poll(&pfd, 1, (int)(left * 1000) + 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return 0;
        ssize_t n = recv(fd, buf + have, sizeof(buf) - have, 0);
        if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
            return 1;
        if (n < 0)
            continue;
        have += (size_t)n;
        size_t at = 0;
        while (have - at >= 9) {
            size_t len = (size_t)buf[at] << 16 | (size_t)buf[at + 1] << 8 | buf[at + 2];
            if (have - at < 9 + len)
                break;
            if (buf[at + 3] == RC_GOAWAY && len >= 8) {
                const uint8_t *q = buf + at + 9;
                *last_stream = (long)((uint32_t)(q[0] & 0x7f) << 24 | (uint32_t)q[1] << 16 |
                                      (uint32_t)q[2] << 8 | q[3]);
                *goaway_code = (long)((uint32_t)q[4] << 24 | (uint32_t)q[5] << 16 |
                                      (uint32_t)q[6] << 8 | q[7]);
            }
            at += 9 + len;
        }
        if (at == 0 && have == sizeof(buf))
            have = 0; /* one frame larger than the buffer: not parsed */
        memmove(buf, buf + at, have - at);
        have -= at;
    }
}

static inline int rc_h2_frame(int fd, uint8_t type, uint8_t flags, uint32_t stream,
                              const void *payload, size_t len)
{
    uint8_t h[9] = {(uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len, type, flags,
                    (uint8_t)(stream >> 24 & 0x7f), (uint8_t)(stream >> 16),
                    (uint8_t)(stream >> 8), (uint8_t)stream};
    if (rc_send(fd, h, 9))
        return -1;
    return len ? rc_send(fd, payload, len) : 0;
}

/* The client preface and a SETTINGS frame (initial_window: -1 = leave the default). */
static inline int rc_h2_start(int fd, long initial_window)
{
    static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    if (rc_send(fd, preface, 24))
        return -1;
    uint8_t s[6] = {0, 4, 0, 0, 0, 0}; /* SETTINGS_INITIAL_WINDOW_SIZE */
    if (initial_window < 0)
        return rc_h2_frame(fd, RC_SETTINGS, 0, 0, NULL, 0);
    s[2] = (uint8_t)(initial_window >> 24);
    s[3] = (uint8_t)(initial_window >> 16);
    s[4] = (uint8_t)(initial_window >> 8);
    s[5] = (uint8_t)initial_window;
    return rc_h2_frame(fd, RC_SETTINGS, 0, 0, s, 6);
}

/* HPACK integer with an n-bit prefix. */
static inline size_t rc_hpack_int(uint8_t *dst, uint8_t first, int bits, size_t v)
{
    size_t max = ((size_t)1 << bits) - 1, n = 0;
    if (v < max) {
        dst[n++] = (uint8_t)(first | v);
        return n;
    }
    dst[n++] = (uint8_t)(first | max);
    v -= max;
    while (v >= 128) {
        dst[n++] = (uint8_t)(v % 128 + 128);
        v /= 128;
    }
    dst[n++] = (uint8_t)v;
    return n;
}

/* Appends "name: value" as a literal without indexing (new name) to dst; returns bytes. */
static inline size_t rc_hpack_field(uint8_t *dst, const char *name, const char *value,
                                    size_t value_len)
{
    size_t n = 0, nl = strlen(name);
    dst[n++] = 0;
    n += rc_hpack_int(dst + n, 0, 7, nl);
    memcpy(dst + n, name, nl);
    n += nl;
    n += rc_hpack_int(dst + n, 0, 7, value_len);
    memcpy(dst + n, value, value_len);
    return n + value_len;
}

/* HEADERS for one request; extra: "name", "value" pairs, NULL-terminated. end_stream: no
 * body follows. */
static inline int rc_h2_request(int fd, uint32_t stream, const char *method, const char *path,
                                const char *const *extra, int end_stream)
{
    uint8_t block[4096];
    size_t n = 0;
    n += rc_hpack_field(block + n, ":method", method, strlen(method));
    n += rc_hpack_field(block + n, ":scheme", "http", 4);
    n += rc_hpack_field(block + n, ":path", path, strlen(path));
    n += rc_hpack_field(block + n, ":authority", "127.0.0.1", 9);
    for (const char *const *e = extra; e && e[0] && e[1] && n < sizeof(block) - 600; e += 2)
        n += rc_hpack_field(block + n, e[0], e[1], strlen(e[1]));
    return rc_h2_frame(fd, RC_HEADERS, RC_END_HEADERS | (end_stream ? RC_END_STREAM : 0),
                       stream, block, n);
}

static inline int rc_h2_rst(int fd, uint32_t stream)
{
    uint8_t code[4] = {0, 0, 0, 8}; /* CANCEL */
    return rc_h2_frame(fd, RC_RST_STREAM, 0, stream, code, 4);
}

/* DATA of len bytes of `fill`, in frames of at most 16384 bytes. */
static inline int rc_h2_data(int fd, uint32_t stream, size_t len, char fill, int end_stream)
{
    char chunk[16384];
    memset(chunk, fill, sizeof(chunk));
    do {
        size_t k = len < sizeof(chunk) ? len : sizeof(chunk);
        len -= k;
        if (rc_h2_frame(fd, RC_DATA, len == 0 && end_stream ? RC_END_STREAM : 0, stream, chunk,
                        k))
            return -1;
    } while (len);
    return 0;
}

#endif
