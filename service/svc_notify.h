/*
 * svc_notify.h — tells a service manager (systemd's Type=notify) how the service is doing,
 * over the datagram socket named by $NOTIFY_SOCKET; does nothing when it is unset.
 */
#ifndef VKB_SVC_NOTIFY_H
#define VKB_SVC_NOTIFY_H

/* Sends one notification, lines such as "READY=1\nSTATUS=serving". Returns 0 when sent or
 * when there is no manager to tell; -1 when $NOTIFY_SOCKET is set but the send failed. */
int svc_notify(const char *state);

#endif
