/* log.c — the one piece of global state: the log level, and a lock so lines never interleave. */
#include "vkb_runtime.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

static vkb_log_level log_level = VKB_LOG_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void vkb_log_set_level(vkb_log_level level) { log_level = level; }
vkb_log_level vkb_log_get_level(void) { return log_level; }

void vkb_log(vkb_log_level level, const char *fmt, ...)
{
    static const char *names[] = {"error", "warn", "info", "debug"};
    if (level > log_level)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    pthread_mutex_lock(&log_lock);
    fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s ", tm.tm_year + 1900, tm.tm_mon + 1,
            tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, names[level]);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    pthread_mutex_unlock(&log_lock);
}

const char *vkb_status_str(int status)
{
    switch (status) {
    case VKB_OK: return "ok";
    case VKB_EINVAL: return "invalid argument";
    case VKB_ENOTFOUND: return "not found";
    case VKB_ENOMEM: return "out of memory";
    case VKB_EDEVICE: return "device error";
    case VKB_EIO: return "I/O error";
    case VKB_EUNSUPPORTED: return "unsupported";
    case VKB_EBUSY: return "busy";
    default: return "unknown error";
    }
}
