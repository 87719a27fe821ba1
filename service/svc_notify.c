/* svc_notify.c — the sd_notify protocol without libsystemd: one AF_UNIX datagram with
 * newline-separated VAR=value assignments to the socket in $NOTIFY_SOCKET (a path, or an
 * abstract name written with a leading '@'). The unit uses it for readiness (READY=1 when
 * /health turns 200) and for the stop (STOPPING=1 when the drain starts). */
#include "svc_notify.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int svc_notify(const char *state)
{
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path || !*path)
        return 0;
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    size_t len = strlen(path);
    if ((path[0] != '/' && path[0] != '@') || len >= sizeof(addr.sun_path))
        return -1;
    memcpy(addr.sun_path, path, len);
    if (path[0] == '@')
        addr.sun_path[0] = 0; /* abstract namespace: the name is not NUL-terminated */
    socklen_t addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len +
                                     (path[0] == '/' ? 1 : 0));
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    ssize_t sent = sendto(fd, state, strlen(state), MSG_NOSIGNAL,
                          (const struct sockaddr *)&addr, addr_len);
    close(fd);
    return sent == (ssize_t)strlen(state) ? 0 : -1;
}
