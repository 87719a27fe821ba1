/*
 * platform_win32.c — vkb_platform.h on Windows (mingw-w64): the Win32 calls that do what
 * the POSIX ones do in platform_posix.c. Paths are the ANSI code page's, as the C library's
 * fopen/open take them.
 */
#include "vkb_platform.h"

#include <direct.h>
#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>
#include <psapi.h>

void vkb_stdio_binary(void)
{
    _fmode = _O_BINARY; /* every later fopen/open without "t" */
    _setmode(_fileno(stdin), _O_BINARY);
    _setmode(_fileno(stdout), _O_BINARY);
    _setmode(_fileno(stderr), _O_BINARY);
}

int vkb_mkdir(const char *path) { return _mkdir(path); }

const char *vkb_home_dir(void)
{
    const char *home = getenv("HOME");
    return home && *home ? home : getenv("USERPROFILE");
}

int vkb_setenv(const char *name, const char *value, int overwrite)
{
    if (!overwrite && getenv(name))
        return 0;
    return _putenv_s(name, value) == 0 ? 0 : -1;
}

/* GetFinalPathNameByHandle resolves symlinks and junctions like realpath; it answers
 * "\\?\C:\dir" (or "\\?\UNC\server\share"), turned here into "C:/dir" ("//server/share"). */
char *vkb_realpath(const char *path, char *out)
{
    HANDLE h = CreateFileA(path, 0, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                           NULL, OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, NULL);
    if (h == INVALID_HANDLE_VALUE) {
        errno = ENOENT;
        return NULL;
    }
    char buf[PATH_MAX + 8];
    DWORD n = GetFinalPathNameByHandleA(h, buf, sizeof buf, FILE_NAME_NORMALIZED);
    CloseHandle(h);
    if (n == 0 || n >= sizeof buf) {
        errno = ENAMETOOLONG;
        return NULL;
    }
    const char *p = buf;
    char *o = out;
    if (!strncmp(p, "\\\\?\\UNC\\", 8)) {
        p += 8;
        *o++ = '/';
        *o++ = '/';
    } else if (!strncmp(p, "\\\\?\\", 4)) {
        p += 4;
    }
    if (strlen(p) + (size_t)(o - out) >= PATH_MAX) {
        errno = ENAMETOOLONG;
        return NULL;
    }
    for (; *p; p++)
        *o++ = *p == '\\' ? '/' : *p;
    *o = '\0';
    return out;
}

int vkb_rename_replace(const char *from, const char *to)
{
    if (MoveFileExA(from, to, MOVEFILE_REPLACE_EXISTING))
        return 0;
    errno = EACCES;
    return -1;
}

/* A file mapping object for the view; the view keeps it alive, so its handle closes here. */
void *vkb_map_file(int fd, size_t len)
{
    HANDLE file = (HANDLE)_get_osfhandle(fd);
    if (file == INVALID_HANDLE_VALUE) {
        errno = EBADF;
        return NULL;
    }
    HANDLE mapping = CreateFileMappingA(file, NULL, PAGE_READONLY, 0, 0, NULL);
    if (!mapping) {
        errno = EACCES;
        return NULL;
    }
    void *map = MapViewOfFile(mapping, FILE_MAP_READ, 0, 0, len);
    CloseHandle(mapping);
    if (!map)
        errno = ENOMEM;
    return map;
}

void vkb_unmap_file(void *map, size_t len)
{
    (void)len;
    UnmapViewOfFile(map);
}

void *vkb_aligned_alloc(size_t align, size_t bytes) { return _aligned_malloc(bytes, align); }

void vkb_aligned_free(void *p) { _aligned_free(p); }

/* VirtualUnlock on pages that are not locked takes them out of the working set: the
 * documented way to trim a range (MADV_DONTNEED's effect on a read-only file view). */
void vkb_drop_mapped_pages(void *map, size_t len) { VirtualUnlock(map, len); }

typedef struct sort_ctx {
    int (*cmp)(const void *, const void *, void *);
    void *ctx;
} sort_ctx;

static int sort_adapter(void *c, const void *a, const void *b)
{
    const sort_ctx *s = c;
    return s->cmp(a, b, s->ctx);
}

void vkb_qsort_r(void *base, size_t n, size_t size,
                 int (*cmp)(const void *, const void *, void *), void *ctx)
{
    sort_ctx s = {cmp, ctx};
    qsort_s(base, n, size, sort_adapter, &s);
}

char *vkb_mkdtemp(char *tmpl)
{
    size_t n = strlen(tmpl);
    char *copy = malloc(n + 1);
    if (!copy)
        return NULL;
    memcpy(copy, tmpl, n + 1);
    for (int attempt = 0; attempt < 100; attempt++) {
        memcpy(tmpl, copy, n + 1);
        if (_mktemp_s(tmpl, n + 1) != 0)
            break;
        if (_mkdir(tmpl) == 0) {
            free(copy);
            return tmpl;
        }
        if (errno != EEXIST)
            break;
    }
    free(copy);
    return NULL;
}

char *vkb_make_temp_dir(const char *prefix, char *out, size_t outlen)
{
    char tmp[MAX_PATH + 1];
    DWORD n = GetTempPathA(sizeof tmp, tmp); /* ends in a backslash */
    if (n == 0 || n >= sizeof tmp) {
        errno = ENOENT;
        return NULL;
    }
    int k = snprintf(out, outlen, "%s%sXXXXXX", tmp, prefix);
    if (k < 0 || (size_t)k >= outlen) {
        errno = ENAMETOOLONG;
        return NULL;
    }
    return vkb_mkdtemp(out);
}

/* Depth first; a reparse point (symlink, junction) is removed itself, never entered. */
int vkb_remove_tree(const char *path)
{
    DWORD attr = GetFileAttributesA(path);
    if (attr == INVALID_FILE_ATTRIBUTES)
        return -1;
    if (!(attr & FILE_ATTRIBUTE_DIRECTORY))
        return DeleteFileA(path) ? 0 : -1;
    int rc = 0;
    if (!(attr & FILE_ATTRIBUTE_REPARSE_POINT)) {
        char pattern[MAX_PATH + 3];
        if (snprintf(pattern, sizeof pattern, "%s\\*", path) >= (int)sizeof pattern)
            return -1;
        WIN32_FIND_DATAA e;
        HANDLE h = FindFirstFileA(pattern, &e);
        if (h != INVALID_HANDLE_VALUE) {
            do {
                if (!strcmp(e.cFileName, ".") || !strcmp(e.cFileName, ".."))
                    continue;
                char child[MAX_PATH + 1];
                if (snprintf(child, sizeof child, "%s\\%s", path, e.cFileName) >= (int)sizeof child ||
                    vkb_remove_tree(child) != 0)
                    rc = -1;
            } while (FindNextFileA(h, &e));
            FindClose(h);
        }
    }
    return RemoveDirectoryA(path) && rc == 0 ? 0 : -1;
}

long long vkb_getline(char **line, size_t *cap, FILE *f)
{
    size_t n = 0;
    int c;
    while ((c = fgetc(f)) != EOF) {
        if (n + 2 > *cap) {
            size_t want = *cap ? 2 * *cap : 128;
            char *p = realloc(*line, want);
            if (!p) {
                errno = ENOMEM;
                return -1;
            }
            *line = p;
            *cap = want;
        }
        (*line)[n++] = (char)c;
        if (c == '\n')
            break;
    }
    if (n == 0)
        return -1;
    (*line)[n] = '\0';
    return (long long)n;
}

struct timespec vkb_stat_mtime(const struct stat *st)
{
    struct timespec t = {st->st_mtime, 0};
    return t;
}

int vkb_lstat(const char *path, struct stat *st) { return stat(path, st); }

long long vkb_pread(int fd, void *buf, size_t n, uint64_t off)
{
    HANDLE file = (HANDLE)_get_osfhandle(fd);
    if (file == INVALID_HANDLE_VALUE) {
        errno = EBADF;
        return -1;
    }
    /* ReadFile at an offset: the OVERLAPPED carries the position (the handle is synchronous,
     * so the call completes before it returns). One call reads at most 1 GiB. */
    DWORD want = n > (1u << 30) ? (1u << 30) : (DWORD)n, got = 0;
    OVERLAPPED ov = {0};
    ov.Offset = (DWORD)(off & 0xffffffffu);
    ov.OffsetHigh = (DWORD)(off >> 32);
    if (!ReadFile(file, buf, want, &got, &ov)) {
        if (GetLastError() == ERROR_HANDLE_EOF)
            return 0;
        errno = EIO;
        return -1;
    }
    return (long long)got;
}

struct vkb_file_lock {
    HANDLE h;
};

vkb_file_lock *vkb_lock_file(const char *path)
{
    vkb_file_lock *l = malloc(sizeof *l);
    if (!l)
        return NULL;
    l->h = CreateFileA(path, GENERIC_READ | GENERIC_WRITE,
                       FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL, OPEN_ALWAYS,
                       FILE_ATTRIBUTE_NORMAL, NULL);
    OVERLAPPED ov;
    memset(&ov, 0, sizeof ov);
    if (l->h == INVALID_HANDLE_VALUE || !LockFileEx(l->h, LOCKFILE_EXCLUSIVE_LOCK, 0, 1, 0, &ov)) {
        if (l->h != INVALID_HANDLE_VALUE)
            CloseHandle(l->h);
        free(l);
        errno = EACCES;
        return NULL;
    }
    return l;
}

void vkb_unlock_file(vkb_file_lock *lock)
{
    if (!lock)
        return;
    CloseHandle(lock->h); /* releases the lock */
    free(lock);
}

/* Copies rather than links: CreateSymbolicLink needs developer mode (or an administrator),
 * and a copy reads the same for every program. */
int vkb_link_or_copy(const char *target, const char *rel_target, const char *path)
{
    (void)rel_target;
    char tmp[PATH_MAX + 32];
    if (snprintf(tmp, sizeof tmp, "%s.%lu.tmp", path, (unsigned long)GetCurrentProcessId()) >=
        (int)sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    if (!CopyFileA(target, tmp, FALSE)) {
        errno = GetLastError() == ERROR_DISK_FULL ? ENOSPC : EACCES;
        return -1;
    }
    if (!MoveFileExA(tmp, path, MOVEFILE_REPLACE_EXISTING)) {
        DeleteFileA(tmp);
        errno = EACCES;
        return -1;
    }
    return 0;
}

void vkb_sleep_ms(unsigned ms) { Sleep(ms); }

long long vkb_peak_rss_bytes(void)
{
    PROCESS_MEMORY_COUNTERS pmc;
    return K32GetProcessMemoryInfo(GetCurrentProcess(), &pmc, sizeof pmc)
               ? (long long)pmc.PeakWorkingSetSize
               : -1;
}

int vkb_cpu_count(void)
{
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    return si.dwNumberOfProcessors < 1 ? 1 : (int)si.dwNumberOfProcessors;
}

int vkb_stat_is_link(const struct stat *st)
{
    (void)st;
    return 0;
}
