/*
 * resolve.c — model names to folders under VKB_MODEL_DIR and the Hugging Face cache.
 * See resolve.h for the rules. Nothing here opens a file outside a root: candidate paths are
 * only stat()'d and realpath()'d (neither opens) until they are known to lie inside one.
 */
#include "resolve.h"
#include "vkb_platform.h"

#include "vkb_runtime.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int name_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-';
}

/* One part of a name (or a revision): len characters starting at s. */
static int check_part(const char *name, const char *s, size_t len, char *err, size_t errlen)
{
    if (len == 0) {
        vkb_set_err(err, errlen, "bad model name '%s': empty part", name);
        return VKB_EINVAL;
    }
    if (len > RESOLVE_PART_MAX) {
        vkb_set_err(err, errlen, "bad model name: a part is longer than %d characters",
                    RESOLVE_PART_MAX);
        return VKB_EINVAL;
    }
    if (s[0] == '.' || s[0] == '-') {
        vkb_set_err(err, errlen, "bad model name '%s': a part starts with '%c'", name, s[0]);
        return VKB_EINVAL;
    }
    if (s[len - 1] == '.') {
        vkb_set_err(err, errlen, "bad model name '%s': a part ends with '.'", name);
        return VKB_EINVAL;
    }
    return VKB_OK;
}

int resolve_check_name(const char *name, char *err, size_t errlen)
{
    if (!name || !*name) {
        vkb_set_err(err, errlen, "empty model name");
        return VKB_EINVAL;
    }
    size_t len = strnlen(name, RESOLVE_NAME_MAX + 1);
    if (len > RESOLVE_NAME_MAX) {
        vkb_set_err(err, errlen, "bad model name: longer than %d characters", RESOLVE_NAME_MAX);
        return VKB_EINVAL;
    }
    const char *slash = NULL;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (c == '/') {
            if (slash) {
                vkb_set_err(err, errlen, "bad model name '%s': more than one '/'", name);
                return VKB_EINVAL;
            }
            slash = name + i;
        } else if (!name_char_ok(c)) {
            /* Do not echo the name: it may hold control characters. */
            vkb_set_err(err, errlen,
                        "bad model name: character 0x%02x not allowed (use A-Z a-z 0-9 . _ - "
                        "and one '/')",
                        (unsigned char)c);
            return VKB_EINVAL;
        }
    }
    if (strstr(name, "..")) {
        vkb_set_err(err, errlen, "bad model name '%s': '..' not allowed", name);
        return VKB_EINVAL;
    }
    if (strstr(name, "--")) {
        vkb_set_err(err, errlen, "bad model name '%s': '--' not allowed", name);
        return VKB_EINVAL;
    }
    if (!slash)
        return check_part(name, name, len, err, errlen);
    int rc = check_part(name, name, (size_t)(slash - name), err, errlen);
    if (rc == VKB_OK)
        rc = check_part(name, slash + 1, len - (size_t)(slash - name) - 1, err, errlen);
    return rc;
}

/* base + suffix into out; VKB_ENOTFOUND when base is unset or empty. */
static int join_path(char *out, size_t outlen, const char *base, const char *suffix)
{
    if (!base || !*base)
        return VKB_ENOTFOUND;
    int k = snprintf(out, outlen, "%s%s", base, suffix);
    return (k < 0 || (size_t)k >= outlen) ? VKB_EINVAL : VKB_OK;
}

static int env_path(char *out, size_t outlen, const char *var, const char *suffix)
{
    return join_path(out, outlen, getenv(var), suffix);
}

int resolve_hub_cache(char *out, size_t outlen)
{
    int rc = env_path(out, outlen, "HF_HUB_CACHE", "");
    if (rc == VKB_ENOTFOUND)
        rc = env_path(out, outlen, "HF_HOME", "/hub");
    if (rc == VKB_ENOTFOUND)
        rc = env_path(out, outlen, "XDG_CACHE_HOME", "/huggingface/hub");
    if (rc == VKB_ENOTFOUND) /* $HOME; %USERPROFILE% on Windows, as huggingface_hub does */
        rc = join_path(out, outlen, vkb_home_dir(), "/.cache/huggingface/hub");
    return rc;
}

int resolve_cache_folder_name(const char *name, char *out, size_t outlen)
{
    const char *slash = strchr(name, '/');
    int k = slash ? snprintf(out, outlen, "models--%.*s--%s", (int)(slash - name), name, slash + 1)
                  : snprintf(out, outlen, "models--%s", name);
    return (k < 0 || (size_t)k >= outlen) ? VKB_EINVAL : VKB_OK;
}

/* Whether the canonical path `path` is root itself or below it (both canonical). */
static int path_inside(const char *root, const char *path)
{
    size_t n = strlen(root);
    if (n == 1 && root[0] == '/')
        return path[0] == '/';
    return !strncmp(root, path, n) && (path[n] == '/' || path[n] == '\0');
}

/* root_real/rel, canonicalised and checked. want_dir: 1 folder, 0 regular file.
 * VKB_OK (out set), VKB_ENOTFOUND (absent or wrong kind), VKB_EINVAL (leads outside root). */
static int find_under(const char *root_real, const char *rel, int want_dir, char *out,
                      size_t outlen, char *err, size_t errlen)
{
    char path[PATH_MAX], real[PATH_MAX];
    int k = snprintf(path, sizeof path, "%s/%s", root_real, rel);
    if (k < 0 || (size_t)k >= sizeof path)
        return VKB_ENOTFOUND;
    struct stat st;
    if (stat(path, &st) != 0 || !vkb_realpath(path, real))
        return VKB_ENOTFOUND;
    if (!path_inside(root_real, real) || !strcmp(root_real, real)) {
        vkb_set_err(err, errlen, "'%s' leads outside its model root (symlink escape refused)",
                    rel);
        return VKB_EINVAL;
    }
    if (want_dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))
        return VKB_ENOTFOUND;
    if (strlen(real) >= outlen)
        return VKB_ENOTFOUND;
    strcpy(out, real);
    return VKB_OK;
}

/* The commit refs/main names, if it reads as one (a garbled ref is ignored, not followed). */
static int read_ref_main(const char *hub_real, const char *repo, char *rev, size_t revlen)
{
    char rel[PATH_MAX], path[PATH_MAX];
    snprintf(rel, sizeof rel, "%s/refs/main", repo);
    if (find_under(hub_real, rel, 0, path, sizeof path, NULL, 0) != VKB_OK)
        return VKB_ENOTFOUND;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return VKB_ENOTFOUND;
    char buf[129];
    ssize_t got = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (got <= 0)
        return VKB_ENOTFOUND;
    size_t n = (size_t)got;
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        n--;
    buf[n] = '\0';
    if (n == 0 || n >= revlen || strchr(buf, '/') ||
        resolve_check_name(buf, NULL, 0) != VKB_OK)
        return VKB_ENOTFOUND;
    strcpy(rev, buf);
    return VKB_OK;
}

/* The newest snapshot folder (by mtime; ties by name) when refs/main does not lead to one. */
static int newest_snapshot(const char *hub_real, const char *repo, char *rev, size_t revlen)
{
    char rel[PATH_MAX], snaps[PATH_MAX];
    snprintf(rel, sizeof rel, "%s/snapshots", repo);
    if (find_under(hub_real, rel, 1, snaps, sizeof snaps, NULL, 0) != VKB_OK)
        return VKB_ENOTFOUND;
    DIR *d = opendir(snaps);
    if (!d)
        return VKB_ENOTFOUND;
    int found = 0;
    struct timespec best = {0, 0};
    struct dirent *ent;
    while ((ent = readdir(d))) {
        const char *n = ent->d_name;
        if (n[0] == '.' || strlen(n) >= revlen || resolve_check_name(n, NULL, 0) != VKB_OK)
            continue;
        char p[PATH_MAX];
        struct stat st;
        if (snprintf(p, sizeof p, "%s/%s", snaps, n) >= (int)sizeof p || vkb_lstat(p, &st) != 0 ||
            !S_ISDIR(st.st_mode))
            continue;
        struct timespec mtime = vkb_stat_mtime(&st);
        int newer = !found || mtime.tv_sec > best.tv_sec ||
                    (mtime.tv_sec == best.tv_sec &&
                     (mtime.tv_nsec > best.tv_nsec ||
                      (mtime.tv_nsec == best.tv_nsec && strcmp(n, rev) > 0)));
        if (newer) {
            found = 1;
            best = mtime;
            strcpy(rev, n);
        }
    }
    closedir(d);
    return found ? VKB_OK : VKB_ENOTFOUND;
}

static int find_in_hub(const char *hub_real, const char *name, char *out, size_t outlen,
                       char *err, size_t errlen)
{
    char repo[256], rev[129], rel[PATH_MAX];
    if (resolve_cache_folder_name(name, repo, sizeof repo) != VKB_OK)
        return VKB_ENOTFOUND;
    int rc = find_under(hub_real, repo, 1, rel, sizeof rel, err, errlen);
    if (rc != VKB_OK)
        return rc;
    if (read_ref_main(hub_real, repo, rev, sizeof rev) == VKB_OK) {
        snprintf(rel, sizeof rel, "%s/snapshots/%s", repo, rev);
        rc = find_under(hub_real, rel, 1, out, outlen, err, errlen);
        if (rc != VKB_ENOTFOUND)
            return rc;
    }
    if (newest_snapshot(hub_real, repo, rev, sizeof rev) != VKB_OK)
        return VKB_ENOTFOUND;
    snprintf(rel, sizeof rel, "%s/snapshots/%s", repo, rev);
    return find_under(hub_real, rel, 1, out, outlen, err, errlen);
}

/* One name in both roots; roots that do not exist are skipped. */
static int find_in_roots(const char *dir_real, const char *hub_real, const char *name,
                         char *out, size_t outlen, char *err, size_t errlen)
{
    int rc = VKB_ENOTFOUND;
    if (dir_real)
        rc = find_under(dir_real, name, 1, out, outlen, err, errlen);
    if (rc == VKB_ENOTFOUND && hub_real)
        rc = find_in_hub(hub_real, name, out, outlen, err, errlen);
    return rc;
}

int resolve_model(const char *model_dir, const char *name, char *out, size_t outlen, char *err,
                  size_t errlen)
{
    int rc = resolve_check_name(name, err, errlen);
    if (rc != VKB_OK)
        return rc;
    char dir_real[PATH_MAX], hub[PATH_MAX], hub_real[PATH_MAX];
    const char *dr = (model_dir && *model_dir && vkb_realpath(model_dir, dir_real)) ? dir_real : NULL;
    const char *hr =
        (resolve_hub_cache(hub, sizeof hub) == VKB_OK && vkb_realpath(hub, hub_real)) ? hub_real : NULL;
    rc = find_in_roots(dr, hr, name, out, outlen, err, errlen);
    if (rc == VKB_ENOTFOUND && !strchr(name, '/')) {
        char st_name[RESOLVE_NAME_MAX + 32];
        snprintf(st_name, sizeof st_name, "sentence-transformers/%s", name);
        if (resolve_check_name(st_name, NULL, 0) == VKB_OK)
            rc = find_in_roots(dr, hr, st_name, out, outlen, err, errlen);
    }
    if (rc == VKB_ENOTFOUND) {
        vkb_set_err(err, errlen,
                    "model '%s' not found under VKB_MODEL_DIR or the Hugging Face cache "
                    "(download it with: vkbridge pull %s)",
                    name, name);
        vkb_log(VKB_LOG_DEBUG, "model '%s' not found; model dir %s, hub cache %s", name,
                dr ? dr : "(none)", hr ? hr : "(none)");
    } else if (rc == VKB_EINVAL) {
        vkb_log(VKB_LOG_WARN, "model '%s' refused: %s", name, err ? err : "escape");
    }
    return rc;
}

/* ---------------------------------------------------------------- links inside a folder */

/* What links in the folder real may point into: for a Hugging Face snapshot its repository
 * folder (the blobs); else the folder's parent, which is the model root or a folder inside
 * it (ORG of ORG/NAME), so a model may share a sibling's files but nothing outside. */
static void link_base(const char *real, char *base, size_t baselen)
{
    snprintf(base, baselen, "%s", real);
    const char *snap = strstr(real, "/snapshots/");
    const char *repo = snap;
    while (repo && repo > real && repo[-1] != '/')
        repo--;
    if (snap && repo > real && !strncmp(repo, "models--", 8) && !strchr(snap + 11, '/')) {
        base[snap - real] = '\0';
        return;
    }
    char *slash = strrchr(base, '/');
    if (slash && slash > base)
        *slash = '\0';
    else if (slash)
        slash[1] = '\0'; /* a folder right under / */
}

static int check_links(const char *dir, const char *base, const char *shown, int depth,
                       char *err, size_t errlen)
{
    DIR *d = opendir(dir);
    if (!d)
        return VKB_OK; /* the loaders report an unreadable folder themselves */
    int rc = VKB_OK;
    struct dirent *ent;
    while (rc == VKB_OK && (ent = readdir(d))) {
        if (!strcmp(ent->d_name, ".") || !strcmp(ent->d_name, ".."))
            continue;
        char path[PATH_MAX], real[PATH_MAX], name[300];
        struct stat st;
        if (snprintf(path, sizeof path, "%s/%s", dir, ent->d_name) >= (int)sizeof path ||
            vkb_lstat(path, &st) != 0)
            continue;
        snprintf(name, sizeof name, "%s%s%.200s", shown, *shown ? "/" : "", ent->d_name);
        if (vkb_stat_is_link(&st)) {
            if (!vkb_realpath(path, real))
                continue; /* dangling: opening it fails like a missing file */
            if (!path_inside(base, real)) {
                vkb_set_err(err, errlen, "model folder entry '%s' is a symlink leading outside "
                            "the model root (refused)", name);
                rc = VKB_EINVAL;
            }
        } else if (S_ISDIR(st.st_mode) && depth > 0) {
            rc = check_links(path, base, name, depth - 1, err, errlen);
        }
    }
    closedir(d);
    return rc;
}

int resolve_check_folder(const char *dir, char *err, size_t errlen)
{
    char real[PATH_MAX], base[PATH_MAX];
    if (!vkb_realpath(dir, real))
        return VKB_OK; /* missing: the loaders say so */
    link_base(real, base, sizeof base);
    return check_links(real, base, "", 1, err, errlen);
}
