/*
 * platform_posix.c — vkb_platform.h on POSIX systems: each function is the POSIX call.
 */
#include "vkb_platform.h"

#include <stdlib.h>
#include <stdio.h>
#include <errno.h>
#include <ftw.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>

#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

void vkb_stdio_binary(void) {}

int vkb_mkdir(const char *path) { return mkdir(path, 0755); }

const char *vkb_home_dir(void) { return getenv("HOME"); }

int vkb_setenv(const char *name, const char *value, int overwrite)
{
    return setenv(name, value, overwrite);
}

char *vkb_realpath(const char *path, char *out) { return realpath(path, out); }

int vkb_rename_replace(const char *from, const char *to) { return rename(from, to); }

void *vkb_map_file(int fd, size_t len)
{
    void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    return map == MAP_FAILED ? NULL : map;
}

void vkb_unmap_file(void *map, size_t len) { munmap(map, len); }

void vkb_drop_mapped_pages(void *map, size_t len) { madvise(map, len, MADV_DONTNEED); }

void *vkb_aligned_alloc(size_t align, size_t bytes) { return aligned_alloc(align, bytes); }

void vkb_aligned_free(void *p) { free(p); }

void vkb_qsort_r(void *base, size_t n, size_t size,
                 int (*cmp)(const void *, const void *, void *), void *ctx)
{
    qsort_r(base, n, size, cmp, ctx);
}

char *vkb_mkdtemp(char *tmpl) { return mkdtemp(tmpl); }

char *vkb_make_temp_dir(const char *prefix, char *out, size_t outlen)
{
    const char *tmp = getenv("TMPDIR");
    int n = snprintf(out, outlen, "%s/%sXXXXXX", tmp && *tmp ? tmp : "/tmp", prefix);
    if (n < 0 || (size_t)n >= outlen) {
        errno = ENAMETOOLONG;
        return NULL;
    }
    return mkdtemp(out);
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    return remove(path) != 0 ? -1 : 0;
}

int vkb_remove_tree(const char *path)
{
    return nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0 ? -1 : 0;
}

long long vkb_getline(char **line, size_t *cap, FILE *f) { return getline(line, cap, f); }

struct timespec vkb_stat_mtime(const struct stat *st) { return st->st_mtim; }

int vkb_lstat(const char *path, struct stat *st) { return lstat(path, st); }

long long vkb_pread(int fd, void *buf, size_t n, uint64_t off)
{
    return (long long)pread(fd, buf, n, (off_t)off);
}

struct vkb_file_lock {
    int fd;
};

vkb_file_lock *vkb_lock_file(const char *path)
{
    vkb_file_lock *l = malloc(sizeof *l);
    if (!l)
        return NULL;
    l->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (l->fd < 0 || flock(l->fd, LOCK_EX) != 0) {
        int e = errno;
        if (l->fd >= 0)
            close(l->fd);
        free(l);
        errno = e;
        return NULL;
    }
    return l;
}

void vkb_unlock_file(vkb_file_lock *lock)
{
    if (!lock)
        return;
    close(lock->fd); /* drops the flock */
    free(lock);
}

int vkb_link_or_copy(const char *target, const char *rel_target, const char *path)
{
    (void)target;
    if (unlink(path) != 0 && errno != ENOENT)
        return -1;
    return symlink(rel_target, path);
}

void vkb_sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

long long vkb_peak_rss_bytes(void)
{
    struct rusage ru; /* ru_maxrss: kilobytes on Linux */
    return getrusage(RUSAGE_SELF, &ru) == 0 ? (long long)ru.ru_maxrss * 1024 : -1;
}

int vkb_cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 4096 ? 4096 : (int)n;
}

int vkb_stat_is_link(const struct stat *st) { return S_ISLNK(st->st_mode); }
