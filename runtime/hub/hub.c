/*
 * hub.c — `vkbridge pull`: list a hub repository, pick the files an encoder needs, download
 * each into the Hugging Face cache layout with resume and hash checks (see hub.h).
 *
 * Every path written is built from parts that were checked first: the model name
 * (resolve_check_name), the commit sha (40 hex digits), the ETag (hex, or a fallback key
 * made of checked parts) and the file names (hub_file_name_ok). Nothing the server sends is
 * joined into a path unchecked.
 *
 * The same file on Linux and Windows: the transfers are hub_http.h's (libcurl, WinHTTP), the
 * digests hub_hash.h's (OpenSSL, BCrypt), locks and snapshot links vkb_platform.h's (a
 * snapshot file is a copy of its blob on Windows).
 */
#include "hub.h"

#include "vkb_platform.h"
#include "vkb_runtime.h"
#include "hub_hash.h"
#include "hub_http.h"
#include "resolve.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

enum { MAX_FILES = 4096, MAX_ATTEMPTS = 5, LISTING_MAX = 16 << 20 };

/* The files an encoder folder needs, besides the weights shards an index names. */
static const char *const wanted_files[] = {
    "config.json",
    "model.safetensors",
    "model.safetensors.index.json",
    "tokenizer.json",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "modules.json",
    "sentence_bert_config.json",
    "config_sentence_transformers.json",
    "1_Pooling/config.json",
};

/* Whether a repository file name is safe to place under the cache: components of
 * [A-Za-z0-9._-], none starting with '.', at most 4 deep. */
static int hub_file_name_ok(const char *f)
{
    size_t len = strlen(f);
    if (len == 0 || len > 255)
        return 0;
    int depth = 0;
    const char *part = f;
    for (const char *s = f;; s++) {
        if (*s == '/' || *s == '\0') {
            if (s == part || part[0] == '.')
                return 0; /* empty part, or hidden / "." / ".." */
            if (*s == '\0')
                break;
            if (++depth > 3)
                return 0;
            part = s + 1;
            continue;
        }
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return strstr(f, "..") == NULL;
}

/* ---- the pull's state */

typedef struct pull {
    http_client *http;
    const char *endpoint;
    int progress;
    char repo[RESOLVE_NAME_MAX + 32]; /* as found on the hub (maybe sentence-transformers/) */
    char sha[41];
    char **listed; /* rfilenames that passed hub_file_name_ok */
    int n_listed;
    const char **plan; /* files to fetch, pointing into listed */
    int n_plan;
    char repo_dir[PATH_MAX]; /* <cache>/models--ORG--NAME */
    char lock_dir[PATH_MAX]; /* <cache>/.locks/models--ORG--NAME */
    char snap_dir[PATH_MAX]; /* repo_dir/snapshots/<sha> */
} pull;

static int mkdirs(const char *path, char *err, size_t errlen)
{
    char p[PATH_MAX];
    if (strlen(path) >= sizeof p) {
        vkb_set_err(err, errlen, "path too long: %s", path);
        return VKB_EIO;
    }
    strcpy(p, path);
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char c = *s;
        *s = '\0';
        struct stat st;
        /* EEXIST, or a drive ("C:") that mkdir refuses otherwise */
        if (vkb_mkdir(p) != 0 && !(stat(p, &st) == 0 && S_ISDIR(st.st_mode))) {
            vkb_set_err(err, errlen, "cannot create %s: %m", p);
            return VKB_EIO;
        }
        if (!c)
            break;
        *s = c;
    }
    return VKB_OK;
}

static int join(char *out, size_t outlen, const char *a, const char *b)
{
    int k = snprintf(out, outlen, "%s/%s", a, b);
    return (k < 0 || (size_t)k >= outlen) ? VKB_EIO : VKB_OK;
}

static void free_listing(pull *p)
{
    for (int i = 0; i < p->n_listed; i++)
        free(p->listed[i]);
    free(p->listed);
    free(p->plan);
    p->listed = NULL;
    p->plan = NULL;
    p->n_listed = p->n_plan = 0;
}

static int listed(const pull *p, const char *f)
{
    for (int i = 0; i < p->n_listed; i++)
        if (!strcmp(p->listed[i], f))
            return i;
    return -1;
}

/* GET /api/models/{repo}/revision/main -> p->sha, p->listed. */
static int fetch_listing(pull *p, const char *repo, char *err, size_t errlen)
{
    char url[PATH_MAX];
    snprintf(url, sizeof url, "%s/api/models/%s/revision/main", p->endpoint, repo);
    char *body = NULL;
    size_t len = 0;
    long status = 0;
    json_t *root = NULL;
    int rc = http_get(p->http, url, LISTING_MAX, &body, &len, &status, err, errlen);
    if (rc != VKB_OK)
        return rc;
    if (status == 401 || status == 403 || status == 404) {
        vkb_set_err(err, errlen,
                    "repository '%s' not found on %s (HTTP %ld; private or gated repositories "
                    "need HF_TOKEN)",
                    repo, p->endpoint, status);
        rc = VKB_ENOTFOUND;
        goto cleanup;
    }
    if (status != 200) {
        vkb_set_err(err, errlen, "GET %s: HTTP %ld", url, status);
        rc = VKB_EIO;
        goto cleanup;
    }
    json_error_t jerr;
    root = json_loadb(body, len, 0, &jerr);
    json_t *sha = root ? json_object_get(root, "sha") : NULL;
    json_t *sib = root ? json_object_get(root, "siblings") : NULL;
    if (!json_is_string(sha) || !hub_is_hex(json_string_value(sha), 40) || !json_is_array(sib)) {
        vkb_set_err(err, errlen, "GET %s: not a model listing (want \"sha\" and \"siblings\")",
                    url);
        rc = VKB_EIO;
        goto cleanup;
    }
    snprintf(p->sha, sizeof p->sha, "%s", json_string_value(sha));
    for (char *s = p->sha; *s; s++)
        if (*s >= 'A' && *s <= 'F')
            *s = (char)(*s - 'A' + 'a');
    size_t n = json_array_size(sib);
    if (n > MAX_FILES)
        n = MAX_FILES;
    p->listed = calloc(n ? n : 1, sizeof *p->listed);
    p->plan = calloc(n ? n : 1, sizeof *p->plan);
    if (!p->listed || !p->plan) {
        rc = VKB_ENOMEM;
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++) {
        const char *f = json_string_value(json_object_get(json_array_get(sib, i), "rfilename"));
        if (!f || !hub_file_name_ok(f))
            continue; /* .gitattributes and the like: never wanted, never a path */
        if (!(p->listed[p->n_listed] = strdup(f))) {
            rc = VKB_ENOMEM;
            goto cleanup;
        }
        p->n_listed++;
    }
    snprintf(p->repo, sizeof p->repo, "%s", repo);
    rc = VKB_OK;
cleanup:
    json_decref(root);
    free(body);
    return rc;
}

static void plan_add(pull *p, const char *f)
{
    int i = listed(p, f);
    if (i < 0)
        return;
    for (int k = 0; k < p->n_plan; k++)
        if (p->plan[k] == p->listed[i])
            return;
    p->plan[p->n_plan++] = p->listed[i];
}

/* ---- one file */

/* The blob name and how to check it: the sha256 (LFS) or git blob id the hub sent, else a
 * key built from the commit and the file name (then the bytes cannot be checked). */
typedef enum { CHECK_NONE, CHECK_SHA256, CHECK_GIT_SHA1 } check_kind;

static check_kind blob_key(const pull *p, const char *file, const char *etag, char *key,
                           size_t keylen)
{
    if (hub_is_hex(etag, 64) || hub_is_hex(etag, 40)) {
        snprintf(key, keylen, "%s", etag);
        for (char *s = key; *s; s++)
            if (*s >= 'A' && *s <= 'F')
                *s = (char)(*s - 'A' + 'a');
        return strlen(etag) == 64 ? CHECK_SHA256 : CHECK_GIT_SHA1;
    }
    snprintf(key, keylen, "unchecked-%s-", p->sha);
    size_t k = strlen(key);
    for (const char *s = file; *s && k + 1 < keylen; s++)
        key[k++] = *s == '/' ? '_' : *s;
    key[k] = '\0';
    return CHECK_NONE;
}

static int verify_blob(const char *path, const char *file, check_kind kind, const char *key,
                       char *err, size_t errlen)
{
    char got[65];
    int rc = VKB_OK;
    if (kind == CHECK_SHA256)
        rc = hub_sha256_file(path, got, err, errlen);
    else if (kind == CHECK_GIT_SHA1)
        rc = hub_git_sha1_file(path, got, err, errlen);
    else
        return VKB_OK;
    if (rc != VKB_OK)
        return rc;
    if (strcasecmp(got, key)) {
        vkb_set_err(err, errlen,
                    "%s: %s mismatch (expected %s, got %s): the download is corrupt and was "
                    "removed; run pull again",
                    file, kind == CHECK_SHA256 ? "sha256" : "git sha1", key, got);
        return VKB_EIO;
    }
    return VKB_OK;
}

/* snapshots/<sha>/<file> -> ../../blobs/<key> (one more ../ per folder level of file), or
 * a copy of blob where there are no symlinks. */
static int link_snapshot(const pull *p, const char *file, const char *key, const char *blob,
                         char *err, size_t errlen)
{
    char link[PATH_MAX], target[PATH_MAX], parent[PATH_MAX];
    if (join(link, sizeof link, p->snap_dir, file) != VKB_OK) {
        vkb_set_err(err, errlen, "path too long for %s", file);
        return VKB_EIO;
    }
    strcpy(parent, link);
    *strrchr(parent, '/') = '\0';
    int rc = mkdirs(parent, err, errlen);
    if (rc != VKB_OK)
        return rc;
    target[0] = '\0';
    for (const char *s = file; *s; s++)
        if (*s == '/')
            strcat(target, "../");
    strcat(target, "../../blobs/");
    strcat(target, key);
    if (vkb_link_or_copy(blob, target, link) != 0) {
        vkb_set_err(err, errlen, "cannot create %s: %m", link);
        return VKB_EIO;
    }
    return VKB_OK;
}

/* Downloads into blobs/<key>.incomplete, resuming after broken transfers, then checks it. */
static int download_blob(pull *p, const char *url, const char *file, long long size,
                         check_kind kind, const char *key, const char *blob, char *err,
                         size_t errlen)
{
    char part[PATH_MAX + 16]; /* blob has room for the suffix: checked in fetch_file */
    snprintf(part, sizeof part, "%s.incomplete", blob);
    int rc = VKB_EIO;
    for (int attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
        int retryable = 0;
        rc = http_download(p->http, url, part, size, file, p->progress, &retryable, err, errlen);
        struct stat st;
        if (rc == VKB_OK && size >= 0 && stat(part, &st) == 0 && (long long)st.st_size != size) {
            if ((long long)st.st_size > size) {
                unlink(part);
                vkb_set_err(err, errlen, "%s: got %lld bytes, expected %lld; removed it", file,
                            (long long)st.st_size, size);
                return VKB_EIO;
            }
            vkb_set_err(err, errlen, "%s: transfer ended at %lld of %lld bytes", file,
                        (long long)st.st_size, size);
            rc = VKB_EIO;
            retryable = 1;
        }
        if (rc == VKB_OK || !retryable)
            break;
        if (attempt < MAX_ATTEMPTS) {
            vkb_log(VKB_LOG_WARN, "%s; resuming (attempt %d of %d)", err, attempt + 1,
                    MAX_ATTEMPTS);
            vkb_sleep_ms(200u * (unsigned)attempt);
        }
    }
    if (rc != VKB_OK)
        return rc; /* the partial file stays for the next run to resume */
    rc = verify_blob(part, file, kind, key, err, errlen);
    if (rc != VKB_OK) {
        unlink(part);
        return rc;
    }
    if (vkb_rename_replace(part, blob) != 0) {
        vkb_set_err(err, errlen, "cannot rename %s: %m", part);
        return VKB_EIO;
    }
    return VKB_OK;
}

static int fetch_file(pull *p, const char *file, char *err, size_t errlen)
{
    char link[PATH_MAX], url[PATH_MAX], key[256], blob[PATH_MAX], lock[PATH_MAX];
    struct stat st;
    if (join(link, sizeof link, p->snap_dir, file) != VKB_OK) {
        vkb_set_err(err, errlen, "path too long for %s", file);
        return VKB_EIO;
    }
    if (stat(link, &st) == 0 && S_ISREG(st.st_mode))
        return VKB_OK; /* this revision already has it */
    snprintf(url, sizeof url, "%s/%s/resolve/%s/%s", p->endpoint, p->repo, p->sha, file);
    /* A HEAD that fails in transport (a kept-alive connection the server had closed after a
     * broken transfer: WinHTTP's 12152 in CI) or answers 5xx is asked again, as downloads
     * are resumed. */
    http_meta meta;
    int rc = VKB_OK;
    for (int attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
        rc = http_head(p->http, url, &meta, err, errlen);
        int again = rc != VKB_OK || hub_http_retryable(meta.status);
        if (!again || attempt == MAX_ATTEMPTS)
            break;
        vkb_log(VKB_LOG_WARN, "%s; asking again (attempt %d of %d)",
                rc != VKB_OK ? err : "HEAD answered a server error", attempt + 1, MAX_ATTEMPTS);
        vkb_sleep_ms(200u * (unsigned)attempt);
    }
    if (rc != VKB_OK)
        return rc;
    if (meta.status != 200) {
        vkb_set_err(err, errlen, "HEAD %s: HTTP %ld", url, meta.status);
        return meta.status == 401 || meta.status == 403 || meta.status == 404 ? VKB_ENOTFOUND
                                                                                : VKB_EIO;
    }
    check_kind kind = blob_key(p, file, meta.etag, key, sizeof key);
    if (join(blob, sizeof blob, p->repo_dir, "blobs") != VKB_OK ||
        strlen(blob) + strlen(key) + 20 >= sizeof blob ||
        join(lock, sizeof lock, p->lock_dir, key) != VKB_OK || strlen(lock) + 8 >= sizeof lock) {
        vkb_set_err(err, errlen, "path too long for %s", file);
        return VKB_EIO;
    }
    strcat(blob, "/");
    strcat(blob, key);
    strcat(lock, ".lock");
    /* One writer per blob, across threads and processes. */
    vkb_file_lock *held = vkb_lock_file(lock);
    if (!held) {
        vkb_set_err(err, errlen, "cannot lock %s: %m", lock);
        return VKB_EIO;
    }
    if (stat(blob, &st) != 0) {
        if (!p->progress)
            vkb_log(VKB_LOG_INFO, "pull %s: %s (%.1f MB)", p->repo, file,
                    meta.size >= 0 ? (double)meta.size / 1e6 : 0.0);
        rc = download_blob(p, url, file, meta.size, kind, key, blob, err, errlen);
    }
    if (rc == VKB_OK)
        rc = link_snapshot(p, file, key, blob, err, errlen);
    vkb_unlock_file(held);
    return rc;
}

/* ---- the plan */

/* The shards model.safetensors.index.json names (already downloaded into the snapshot). */
static int plan_shards(pull *p, char *err, size_t errlen)
{
    char path[PATH_MAX];
    if (join(path, sizeof path, p->snap_dir, "model.safetensors.index.json") != VKB_OK) {
        vkb_set_err(err, errlen, "cache path too long");
        return VKB_EIO;
    }
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    json_t *map = root ? json_object_get(root, "weight_map") : NULL;
    int rc = VKB_OK;
    if (!json_is_object(map)) {
        vkb_set_err(err, errlen, "%s/model.safetensors.index.json: no \"weight_map\" object",
                    p->repo);
        rc = VKB_EUNSUPPORTED;
        goto cleanup;
    }
    const char *tensor;
    json_t *v;
    json_object_foreach(map, tensor, v) {
        const char *shard = json_string_value(v);
        if (!shard || !hub_file_name_ok(shard) || listed(p, shard) < 0) {
            vkb_set_err(err, errlen, "%s: the index names shard '%s' (tensor %s) that the "
                        "repository does not list", p->repo, shard ? shard : "?", tensor);
            rc = VKB_EUNSUPPORTED;
            goto cleanup;
        }
        plan_add(p, shard);
    }
cleanup:
    json_decref(root);
    return rc;
}

static int check_contents(const pull *p, char *err, size_t errlen)
{
    if (listed(p, "config.json") < 0) {
        vkb_set_err(err, errlen, "%s has no config.json: not a transformers model", p->repo);
        return VKB_EUNSUPPORTED;
    }
    if (listed(p, "model.safetensors") < 0 && listed(p, "model.safetensors.index.json") < 0) {
        vkb_set_err(err, errlen,
                    "%s has no model.safetensors: vkbridge reads safetensors weights only "
                    "(pytorch_model.bin is not supported)",
                    p->repo);
        return VKB_EUNSUPPORTED;
    }
    if (listed(p, "tokenizer.json") < 0 && listed(p, "vocab.txt") < 0 &&
        listed(p, "vocab.json") < 0) {
        vkb_set_err(err, errlen,
                    "%s has no tokenizer file (tokenizer.json, vocab.txt or vocab.json)", p->repo);
        return VKB_EUNSUPPORTED;
    }
    return VKB_OK;
}

static int write_ref(const pull *p, char *err, size_t errlen)
{
    char refs[PATH_MAX], ref[PATH_MAX], tmp[PATH_MAX + 32];
    if (join(refs, sizeof refs, p->repo_dir, "refs") != VKB_OK ||
        join(ref, sizeof ref, refs, "main") != VKB_OK) {
        vkb_set_err(err, errlen, "cache path too long");
        return VKB_EIO;
    }
    int rc = mkdirs(refs, err, errlen);
    if (rc != VKB_OK)
        return rc;
    snprintf(tmp, sizeof tmp, "%s.%d.tmp", ref, (int)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f || fputs(p->sha, f) < 0 || fclose(f) != 0 || vkb_rename_replace(tmp, ref) != 0) {
        vkb_set_err(err, errlen, "cannot write %s: %m", ref);
        return VKB_EIO;
    }
    return VKB_OK;
}

static int run_pull(pull *p, const char *cache, char *dir, size_t dirlen, char *err,
                    size_t errlen)
{
    char folder[300], locks[PATH_MAX];
    resolve_cache_folder_name(p->repo, folder, sizeof folder);
    if (join(p->repo_dir, sizeof p->repo_dir, cache, folder) != VKB_OK ||
        join(locks, sizeof locks, cache, ".locks") != VKB_OK ||
        join(p->lock_dir, sizeof p->lock_dir, locks, folder) != VKB_OK ||
        snprintf(p->snap_dir, sizeof p->snap_dir, "%s/snapshots/%s", p->repo_dir, p->sha) >=
            (int)sizeof p->snap_dir) {
        vkb_set_err(err, errlen, "cache path too long: %s", cache);
        return VKB_EIO;
    }
    char blobs[PATH_MAX];
    if (join(blobs, sizeof blobs, p->repo_dir, "blobs") != VKB_OK) {
        vkb_set_err(err, errlen, "cache path too long: %s", cache);
        return VKB_EIO;
    }
    int rc = mkdirs(blobs, err, errlen);
    if (rc == VKB_OK)
        rc = mkdirs(p->snap_dir, err, errlen);
    if (rc == VKB_OK)
        rc = mkdirs(p->lock_dir, err, errlen);
    if (rc != VKB_OK)
        return rc;
    /* Small files first, weights last: a bad repository fails before the big download. */
    for (size_t i = 0; i < sizeof wanted_files / sizeof *wanted_files; i++)
        if (strcmp(wanted_files[i], "model.safetensors"))
            plan_add(p, wanted_files[i]);
    for (int i = 0; i < p->n_plan && rc == VKB_OK; i++)
        rc = fetch_file(p, p->plan[i], err, errlen);
    int first_weight = p->n_plan;
    if (rc == VKB_OK && listed(p, "model.safetensors") >= 0)
        plan_add(p, "model.safetensors");
    else if (rc == VKB_OK)
        rc = plan_shards(p, err, errlen);
    for (int i = first_weight; i < p->n_plan && rc == VKB_OK; i++)
        rc = fetch_file(p, p->plan[i], err, errlen);
    if (rc == VKB_OK)
        rc = write_ref(p, err, errlen);
    if (rc == VKB_OK && (!vkb_realpath(p->snap_dir, dir) || strlen(dir) >= dirlen)) {
        vkb_set_err(err, errlen, "cannot resolve %s", p->snap_dir);
        rc = VKB_EIO;
    }
    return rc;
}

int hub_pull(const char *name, const hub_opts *opts, char *dir, size_t dirlen, char *err,
             size_t errlen)
{
    hub_opts o = opts ? *opts : (hub_opts){0};
    int rc = resolve_check_name(name, err, errlen);
    if (rc != VKB_OK)
        return rc;
    if (dirlen < PATH_MAX) {
        vkb_set_err(err, errlen, "hub_pull: dir buffer shorter than PATH_MAX");
        return VKB_EINVAL;
    }
    char endpoint[1024], cache[PATH_MAX];
    const char *ep = o.endpoint ? o.endpoint : getenv("HF_ENDPOINT");
    snprintf(endpoint, sizeof endpoint, "%s", ep && *ep ? ep : "https://huggingface.co");
    for (size_t n = strlen(endpoint); n > 0 && endpoint[n - 1] == '/'; n--)
        endpoint[n - 1] = '\0';
    if (strncmp(endpoint, "http://", 7) && strncmp(endpoint, "https://", 8)) {
        vkb_set_err(err, errlen, "HF_ENDPOINT must be an http:// or https:// URL");
        return VKB_EINVAL;
    }
    if (o.cache_dir)
        snprintf(cache, sizeof cache, "%s", o.cache_dir);
    else if (resolve_hub_cache(cache, sizeof cache) != VKB_OK) {
        vkb_set_err(err, errlen, "no Hugging Face cache folder: set HF_HOME or HOME");
        return VKB_EINVAL;
    }
    const char *token = o.token ? o.token : getenv("HF_TOKEN");
    pull p;
    memset(&p, 0, sizeof p);
    p.endpoint = endpoint;
    p.progress = o.progress;
    rc = http_client_new(token, &p.http, err, errlen);
    if (rc != VKB_OK)
        return rc;
    rc = fetch_listing(&p, name, err, errlen);
    if (rc == VKB_ENOTFOUND && !strchr(name, '/')) {
        char st_name[RESOLVE_NAME_MAX + 32], err2[512];
        snprintf(st_name, sizeof st_name, "sentence-transformers/%s", name);
        if (resolve_check_name(st_name, NULL, 0) == VKB_OK &&
            fetch_listing(&p, st_name, err2, sizeof err2) == VKB_OK)
            rc = VKB_OK;
    }
    if (rc == VKB_OK)
        rc = check_contents(&p, err, errlen);
    if (rc == VKB_OK)
        rc = run_pull(&p, cache, dir, dirlen, err, errlen);
    if (rc == VKB_OK)
        vkb_log(VKB_LOG_INFO, "pulled %s@%.12s into %s", p.repo, p.sha, dir);
    free_listing(&p);
    http_client_free(p.http);
    return rc;
}
