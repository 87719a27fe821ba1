/*
 * vkb_platform.h — the few operating-system calls that differ between POSIX and Windows,
 * behind one name each: platform_posix.c is the plain POSIX call, platform_win32.c the
 * Win32 equivalent (the mingw-w64 cross build: docs/WINDOWS.md). Threads stay pthreads
 * (mingw-w64's winpthreads), clock_gettime and stdio are the C library's everywhere.
 */
#ifndef VKB_PLATFORM_H
#define VKB_PLATFORM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

/* Flags open() lacks on Windows: there no fd is inherited by default and there are no
 * symlinks for open() to follow (resolve.c checks containment with vkb_realpath first). */
#ifdef _WIN32
#ifndef O_CLOEXEC
#define O_CLOEXEC 0
#endif
#ifndef O_NOFOLLOW
#define O_NOFOLLOW 0
#endif
#endif

/* stdin, stdout, stderr and every file opened later as byte streams (Windows' C library
 * would turn "\n" into "\r\n" on output and back on input, in our code and in jansson's
 * json_dump_file alike); called first thing in main. */
void vkb_stdio_binary(void);

/* mkdir(path, 0755); 0 or -1 with errno set (EEXIST when it is there already). */
int vkb_mkdir(const char *path);

/* The user's home folder: $HOME; on Windows $HOME if set, else %USERPROFILE% (where
 * huggingface_hub puts ~/.cache/huggingface there too). NULL if neither is set. */
const char *vkb_home_dir(void);

/* setenv(name, value, overwrite); 0 or -1. */
int vkb_setenv(const char *name, const char *value, int overwrite);

/* The canonical absolute path of an existing file or folder, symlinks resolved, into out
 * (at least PATH_MAX bytes); NULL if it does not exist. On Windows the separators are '/'
 * ("C:/models/x"), so containment checks compare the same way everywhere. */
char *vkb_realpath(const char *path, char *out);

/* rename() that replaces an existing target atomically (Windows' rename() refuses to). */
int vkb_rename_replace(const char *from, const char *to);

/* pread(): up to n bytes of fd at offset off without moving its file position; the count
 * read, 0 at the end of the file, -1 with errno set on an error. (Model files are read this
 * way, never mapped: a file truncated under a mapping would be SIGBUS.) */
/* Processors online (sysconf on POSIX, GetSystemInfo on Windows); at least 1. */
int vkb_cpu_count(void);

/* Whether a vkb_lstat result is a symbolic link (never on Windows, whose vkb_lstat follows
 * links: there a model folder's links are contained by vkb_realpath in resolve.c alone). */
int vkb_stat_is_link(const struct stat *st);

long long vkb_pread(int fd, void *buf, size_t n, uint64_t off);

/* A read-only private mapping of the first len bytes of the open file fd (len > 0); NULL
 * on failure with errno set. The mapping outlives the fd; vkb_unmap_file releases it. */
void *vkb_map_file(int fd, size_t len);
void vkb_unmap_file(void *map, size_t len);
/* Tells the system a mapping's pages may go (they are read back from the file if touched). */
void vkb_drop_mapped_pages(void *map, size_t len);

/* aligned_alloc(align, bytes) and its free (Windows needs _aligned_free for such blocks);
 * bytes a multiple of align. vkb_aligned_free(NULL) does nothing. */
void *vkb_aligned_alloc(size_t align, size_t bytes);
void vkb_aligned_free(void *p);

/* glibc's qsort_r (Windows' qsort_s passes the context first). */
void vkb_qsort_r(void *base, size_t n, size_t size,
                 int (*cmp)(const void *, const void *, void *), void *ctx);

/* mkdtemp(template): template ends in "XXXXXX", replaced by the folder's unique name. */
char *vkb_mkdtemp(char *tmpl);

/* A new folder <the system's temp folder>/<prefix>XXXXXX ($TMPDIR or /tmp; GetTempPath on
 * Windows) into out; NULL (errno set) on failure. */
char *vkb_make_temp_dir(const char *prefix, char *out, size_t outlen);

/* rm -rf path, without following symlinks; 0, or -1 if something could not be removed. */
int vkb_remove_tree(const char *path);

/* getline(): one line with its '\n' into *line (grown as needed); bytes read, -1 at the end
 * or on an error (ferror tells which). */
long long vkb_getline(char **line, size_t *cap, FILE *f);

/* st's modification time to the nanosecond where the file system keeps it. */
struct timespec vkb_stat_mtime(const struct stat *st);

/* lstat() where there are symlinks, stat() where open() cannot see them (Windows). */
int vkb_lstat(const char *path, struct stat *st);

/* An exclusive lock on the file at path (created if missing), held until vkb_unlock_file:
 * one writer across threads and processes. flock() on POSIX, LockFileEx on Windows. NULL
 * (errno set) on failure; blocks while another holder has it. */
typedef struct vkb_file_lock vkb_file_lock;
vkb_file_lock *vkb_lock_file(const char *path);
void vkb_unlock_file(vkb_file_lock *lock);

/* Makes path show the bytes of the existing file target, replacing what is at path: a
 * symlink whose text is rel_target (target as seen from path's folder) on POSIX; a copy of
 * target on Windows, which grants symlinks only in developer mode (huggingface_hub copies
 * there too). The copy goes to a temporary name first, so path is never a partial file.
 * 0, or -1 with errno set. */
int vkb_link_or_copy(const char *target, const char *rel_target, const char *path);

/* The process's peak resident set so far in bytes (getrusage; the peak working set on
 * Windows); -1 if unknown. */
long long vkb_peak_rss_bytes(void);

/* Sleeps ms milliseconds. */
void vkb_sleep_ms(unsigned ms);

#endif
