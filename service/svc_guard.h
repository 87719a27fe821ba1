/*
 * svc_guard.h — internal to service/: the connection limits h2o 2.2.5 does not enforce.
 *
 * h2o buffers a request body whole before any handler (and so the key check) runs, refills
 * HTTP/2 flow-control windows eagerly, arms no timer while an HTTP/2 response is blocked,
 * spins on an unreadable listener when accept() fails with EMFILE, and has neither the rapid
 * reset (CVE-2023-44487) nor the MadeYouReset (CVE-2025-8671) fix. The guard sits between the
 * socket and h2o: it accepts connections itself (counting them, backing off on EMFILE), sees
 * every byte a client sends before h2o parses it (HTTP/1 request heads; HTTP/2 frame headers,
 * no HPACK), and closes a connection that
 *   - pushes the bytes of unfinished request bodies over its share or the server's budget,
 *   - sends a body of more than SVC_GUARD_PREAUTH_BYTES without a valid key (HTTP/1; on
 *     HTTP/2, before any request of the connection passed the key check, the connection's
 *     unfinished bodies are held to one body of h2o's limit, twice --max-body),
 *   - keeps a request unfinished, or a response unread, for longer than --timeout,
 *   - cancels more than SVC_GUARD_MAX_CANCELS streams within SVC_GUARD_CANCEL_WINDOW_S
 *     seconds (its own RST_STREAMs, and requests that vanished before their answer).
 * Closing means handing h2o a read error: h2o then frees the connection its usual way.
 * Over TLS the guard runs the handshake itself and hands the socket to h2o after it, so it
 * sees the decrypted bytes from the first one on, as on plain TCP.
 */
#ifndef VKB_SVC_GUARD_H
#define VKB_SVC_GUARD_H

#include "svc_pool.h"

#include <stddef.h>
#include <stdint.h>

#define SVC_GUARD_PREAUTH_BYTES (64u << 10)
#define SVC_GUARD_MAX_CANCELS 200
#define SVC_GUARD_CANCEL_WINDOW_S 10.0
#define SVC_GUARD_MAX_STREAMS 128 /* h2o advertises 100 concurrent streams */

typedef struct svc_server svc_server;
typedef struct svc_call svc_call;

/* An HTTP/2 stream whose request has not ended yet. */
typedef struct svc_guard_stream {
    uint32_t id;      /* 0: free */
    size_t body;      /* DATA bytes so far */
    double opened_at; /* monotonic seconds */
} svc_guard_stream;

typedef struct svc_conn {
    svc_server *srv;
    h2o_socket_t *sock;
    int fd;
    h2o_socket_cb h2o_read;  /* h2o's read callback, called after ours */
    int *alive;              /* the running callback's flag, cleared on close */
    double accepted_at;
    struct timeval connected_at; /* h2o's clock at accept, handed to h2o with the socket */
    int handshaking;         /* TLS: the handshake is not over yet (h2o has not the socket) */
    int h2;                  /* HTTP/2: the preface seen, or h2 chosen by TLS ALPN (frames
                              * followed from the preface on either way) */
    int proven;              /* a request of this connection passed the key check */
    int killed;
    char *refusal;           /* TLS: the guard's own answer while h2o writes it (NULL: none) */
    double linger_until;     /* TLS: after the answer, input is drained until then (0: not) */
    size_t unfinished;       /* bytes of request bodies not yet complete (counted in srv) */
    /* HTTP/2 frame reader: 9-byte header, then the payload skipped */
    uint8_t fh[9];
    size_t fh_have;
    size_t payload_left;
    size_t preface_have;
    uint8_t frame_type, frame_flags;
    uint32_t frame_stream;
    svc_guard_stream streams[SVC_GUARD_MAX_STREAMS];
    /* cancellations in the current window */
    double cancel_window_at;
    int cancels;
    svc_call *calls;         /* requests of this connection that reached the handler */
    struct svc_conn *prev, *next;
} svc_conn;

typedef struct svc_guard {
    svc_conn *conns;
    int n_conns;
    int max_conns;
    size_t unfinished;       /* all connections' unfinished body bytes */
    size_t max_unfinished;   /* the server's budget */
    size_t max_conn_unfinished;
    h2o_timeout_t sweep_timeout;
    h2o_timeout_entry_t sweep_entry;
    h2o_timeout_t backoff_timeout;
    h2o_timeout_entry_t backoff_entry;
    int backing_off;
    uint64_t refused_conns, killed_conns, emfile_events;
} svc_guard;

/* Raises RLIMIT_NOFILE's soft limit to the hard one and sizes the connection limit to fit. */
void svc_guard_init(svc_server *srv);
/* The listener's read callback: accepts every pending connection (or backs off). */
void svc_guard_on_accept(h2o_socket_t *listener, const char *err);
/* Once per loop iteration: puts the guard's read callback back wherever h2o replaced it. */
void svc_guard_rewrap(svc_server *srv);
void svc_guard_stop(svc_server *srv);
/* A request reached the handler / was disposed; `authorized`: it passed the key check. */
void svc_guard_call_begin(svc_call *call, int authorized);
void svc_guard_call_end(svc_call *call);

#endif
