/*
 * safetensors.c — mmap'd safetensors files and sharded checkpoints (see safetensors.h).
 *
 * The header is untrusted input: every offset, shape and size is checked (with overflow
 * checks) before a tensor is handed out, so a st_tensor's data range is always inside its
 * mapping. The archive keeps its tensors sorted by name for lookups.
 */
#include "safetensors.h"
#include "vkb_platform.h"

#include "vkb_runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The safetensors reference refuses headers over 100 MB; so do we. */
#define ST_MAX_HEADER (100u * 1000 * 1000)

typedef struct st_file {
    char *path;
    void *map;
    size_t map_len;
} st_file;

struct st_archive {
    st_file *files;
    int n_files;
    st_tensor *tensors; /* sorted by name; names owned here */
    int n_tensors, cap_tensors;
};

static const struct {
    const char *name;
    st_dtype dtype;
    size_t size;
} dtypes[] = {
    {"F32", ST_F32, 4},   {"F16", ST_F16, 2},      {"BF16", ST_BF16, 2},     {"F64", ST_OTHER, 8},
    {"I64", ST_OTHER, 8}, {"U64", ST_OTHER, 8},    {"I32", ST_OTHER, 4},     {"U32", ST_OTHER, 4},
    {"I16", ST_OTHER, 2}, {"U16", ST_OTHER, 2},    {"I8", ST_OTHER, 1},      {"U8", ST_OTHER, 1},
    {"BOOL", ST_OTHER, 1}, {"F8_E4M3", ST_OTHER, 1}, {"F8_E5M2", ST_OTHER, 1},
};

static int dtype_lookup(const char *name, st_dtype *dt, size_t *size)
{
    for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
        if (!strcmp(name, dtypes[i].name)) {
            *dt = dtypes[i].dtype;
            *size = dtypes[i].size;
            return 1;
        }
    return 0;
}

static int add_tensor(st_archive *a, const st_tensor *t)
{
    if (a->n_tensors == a->cap_tensors) {
        int cap = a->cap_tensors ? 2 * a->cap_tensors : 64;
        st_tensor *nt = realloc(a->tensors, sizeof *nt * cap);
        if (!nt)
            return VKB_ENOMEM;
        a->tensors = nt;
        a->cap_tensors = cap;
    }
    a->tensors[a->n_tensors++] = *t;
    return VKB_OK;
}

/* One header entry → a checked st_tensor pointing into data[0 .. data_len). */
static int parse_entry(const char *path, const char *name, json_t *v, const char *data,
                       size_t data_len, st_tensor *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    json_t *jd = json_object_get(v, "dtype"), *js = json_object_get(v, "shape");
    json_t *jo = json_object_get(v, "data_offsets");
    if (!json_is_object(v) || !json_is_string(jd) || !json_is_array(js) || !json_is_array(jo) ||
        json_array_size(jo) != 2) {
        vkb_set_err(err, errlen, "%s: tensor '%s': header entry needs dtype, shape and "
                    "data_offsets [begin, end]", path, name);
        return VKB_EINVAL;
    }
    size_t esize;
    const char *dname = json_string_value(jd);
    if (!dtype_lookup(dname, &t->dtype, &esize)) {
        vkb_set_err(err, errlen, "%s: tensor '%s': unknown dtype '%.16s'", path, name, dname);
        return VKB_EINVAL;
    }
    snprintf(t->dtype_name, sizeof t->dtype_name, "%s", dname);
    if (json_array_size(js) > ST_MAX_DIMS) {
        vkb_set_err(err, errlen, "%s: tensor '%s': %zu dimensions (at most %d supported)", path,
                    name, json_array_size(js), ST_MAX_DIMS);
        return VKB_EINVAL;
    }
    t->ndim = (int)json_array_size(js);
    size_t count = 1;
    for (int i = 0; i < t->ndim; i++) {
        json_t *d = json_array_get(js, i);
        json_int_t dv = json_is_integer(d) ? json_integer_value(d) : -1;
        if (dv < 0 || (dv > 0 && count > SIZE_MAX / (size_t)dv)) {
            vkb_set_err(err, errlen, "%s: tensor '%s': bad shape", path, name);
            return VKB_EINVAL;
        }
        t->shape[i] = dv;
        count *= (size_t)dv;
    }
    json_t *jb = json_array_get(jo, 0), *je = json_array_get(jo, 1);
    json_int_t b = json_is_integer(jb) ? json_integer_value(jb) : -1;
    json_int_t e = json_is_integer(je) ? json_integer_value(je) : -1;
    if (b < 0 || e < b || (uint64_t)e > data_len) {
        vkb_set_err(err, errlen, "%s: tensor '%s': data_offsets [%lld, %lld] outside the %zu "
                    "data bytes (truncated file?)", path, name, (long long)b, (long long)e,
                    data_len);
        return VKB_EINVAL;
    }
    if (count > SIZE_MAX / esize || (uint64_t)(e - b) != count * esize) {
        vkb_set_err(err, errlen, "%s: tensor '%s': %lld data bytes but shape and dtype %s need "
                    "%zu", path, name, (long long)(e - b), dname, count * esize);
        return VKB_EINVAL;
    }
    t->count = count;
    t->data = data + b;
    t->name = strdup(name);
    return t->name ? VKB_OK : VKB_ENOMEM;
}

/* Maps path, validates the header and appends its tensors (all, or only those that
 * `only` maps to this file's name when only != NULL) to a. */
static int load_file(st_archive *a, const char *path, json_t *only, const char *only_name,
                     char *err, size_t errlen)
{
    int rc = VKB_OK;
    json_t *hdr = NULL;
    st_file *nf = realloc(a->files, sizeof *nf * (a->n_files + 1));
    if (!nf)
        return VKB_ENOMEM;
    a->files = nf;
    st_file *f = &a->files[a->n_files];
    memset(f, 0, sizeof *f);
    f->path = strdup(path);
    if (!f->path)
        return VKB_ENOMEM;
    a->n_files++; /* owned by a from here on: st_close frees it */

    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        vkb_set_err(err, errlen, "%s: %s", path, strerror(errno));
        return errno == ENOENT ? VKB_ENOTFOUND : VKB_EIO;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        vkb_set_err(err, errlen, "%s: not a regular file", path);
        close(fd);
        return VKB_EIO;
    }
    if (st.st_size < 8) {
        vkb_set_err(err, errlen, "%s: %lld bytes is too short for a safetensors file", path,
                    (long long)st.st_size);
        close(fd);
        return VKB_EINVAL;
    }
    f->map_len = (size_t)st.st_size;
    f->map = vkb_map_file(fd, f->map_len);
    close(fd);
    if (!f->map) {
        vkb_set_err(err, errlen, "%s: mmap: %s", path, strerror(errno));
        return VKB_EIO;
    }
    const unsigned char *p = f->map;
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = (n << 8) | p[i];
    if (n < 2 || n > ST_MAX_HEADER || n > f->map_len - 8) {
        vkb_set_err(err, errlen, "%s: header length %llu does not fit the %zu-byte file (not a "
                    "safetensors file?)", path, (unsigned long long)n, f->map_len);
        return VKB_EINVAL;
    }
    json_error_t jerr;
    hdr = json_loadb((const char *)p + 8, (size_t)n, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(hdr)) {
        vkb_set_err(err, errlen, "%s: header is not a JSON object (%s)", path,
                    hdr ? "wrong type" : jerr.text);
        rc = VKB_EINVAL;
        goto cleanup;
    }
    const char *data = (const char *)p + 8 + n;
    size_t data_len = f->map_len - 8 - (size_t)n;
    const char *name;
    json_t *v;
    json_object_foreach(hdr, name, v) {
        if (!strcmp(name, "__metadata__"))
            continue;
        if (only) {
            json_t *w = json_object_get(only, name);
            if (!json_is_string(w) || strcmp(json_string_value(w), only_name))
                continue;
        }
        st_tensor t;
        rc = parse_entry(path, name, v, data, data_len, &t, err, errlen);
        if (rc == VKB_OK)
            t.file = f->path;
        if (rc == VKB_OK && (rc = add_tensor(a, &t)) != VKB_OK)
            free((char *)t.name);
        if (rc != VKB_OK)
            goto cleanup;
    }
cleanup:
    json_decref(hdr);
    return rc;
}

static int by_name(const void *x, const void *y)
{
    return strcmp(((const st_tensor *)x)->name, ((const st_tensor *)y)->name);
}

static st_archive *archive_new(void) { return calloc(1, sizeof(st_archive)); }

int st_open_file(const char *path, st_archive **out, char *err, size_t errlen)
{
    *out = NULL;
    st_archive *a = archive_new();
    if (!a)
        return VKB_ENOMEM;
    int rc = load_file(a, path, NULL, NULL, err, errlen);
    if (rc != VKB_OK) {
        st_close(a);
        return rc;
    }
    qsort(a->tensors, a->n_tensors, sizeof *a->tensors, by_name);
    *out = a;
    return VKB_OK;
}

/* A shard name from the index must be a plain file name in the same folder. */
static int safe_shard_name(const char *s)
{
    return *s && !strchr(s, '/') && !strchr(s, '\\') && strcmp(s, ".") && strcmp(s, "..");
}

static int open_sharded(st_archive *a, const char *dir, const char *index_path, char *err,
                        size_t errlen)
{
    int rc = VKB_OK;
    json_error_t jerr;
    json_t *idx = json_load_file(index_path, JSON_REJECT_DUPLICATES, &jerr);
    json_t *map = idx ? json_object_get(idx, "weight_map") : NULL;
    if (!json_is_object(map) || json_object_size(map) == 0) {
        vkb_set_err(err, errlen, "%s: %s", index_path,
                    idx ? "no \"weight_map\" object naming the shards" : jerr.text);
        json_decref(idx);
        return VKB_EINVAL;
    }
    /* Open each distinct shard once, taking only the tensors the map assigns to it. */
    const char *name;
    json_t *v;
    json_object_foreach(map, name, v) {
        const char *shard = json_is_string(v) ? json_string_value(v) : "";
        if (!safe_shard_name(shard)) {
            vkb_set_err(err, errlen, "%s: tensor '%s' maps to a bad shard name", index_path,
                        name);
            rc = VKB_EINVAL;
            goto cleanup;
        }
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, shard);
        int seen = 0;
        for (int i = 0; i < a->n_files && !seen; i++)
            seen = !strcmp(a->files[i].path, path);
        if (!seen && (rc = load_file(a, path, map, shard, err, errlen)) != VKB_OK)
            goto cleanup;
    }
    qsort(a->tensors, a->n_tensors, sizeof *a->tensors, by_name);
    json_object_foreach(map, name, v) {
        if (!st_find(a, name)) {
            vkb_set_err(err, errlen, "%s: tensor '%s' is not in shard %s", index_path, name,
                        json_string_value(v));
            rc = VKB_EINVAL;
            goto cleanup;
        }
    }
cleanup:
    json_decref(idx);
    return rc;
}

int st_open_dir(const char *dir, st_archive **out, char *err, size_t errlen)
{
    *out = NULL;
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir);
    if (stat(path, &st) == 0) {
        st_archive *a = archive_new();
        if (!a)
            return VKB_ENOMEM;
        int rc = open_sharded(a, dir, path, err, errlen);
        if (rc != VKB_OK) {
            st_close(a);
            return rc;
        }
        *out = a;
        return VKB_OK;
    }
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    if (stat(path, &st) != 0) {
        vkb_set_err(err, errlen, "%s: no model.safetensors or model.safetensors.index.json "
                    "(only safetensors checkpoints are supported)", dir);
        return VKB_ENOTFOUND;
    }
    return st_open_file(path, out, err, errlen);
}

void st_close(st_archive *a)
{
    if (!a)
        return;
    for (int i = 0; i < a->n_tensors; i++)
        free((char *)a->tensors[i].name);
    free(a->tensors);
    for (int i = 0; i < a->n_files; i++) {
        if (a->files[i].map)
            vkb_unmap_file(a->files[i].map, a->files[i].map_len);
        free(a->files[i].path);
    }
    free(a->files);
    free(a);
}

void st_drop_pages(const st_archive *a)
{
    for (int i = 0; i < a->n_files; i++)
        if (a->files[i].map)
            vkb_drop_mapped_pages(a->files[i].map, a->files[i].map_len);
}

int st_count(const st_archive *a) { return a->n_tensors; }
const st_tensor *st_at(const st_archive *a, int i) { return &a->tensors[i]; }

const st_tensor *st_find(const st_archive *a, const char *name)
{
    st_tensor key = {.name = name};
    return bsearch(&key, a->tensors, a->n_tensors, sizeof key, by_name);
}

/* ---------------------------------------------------------------- conversion */

static inline uint16_t load_u16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }

static inline float bf16_to_f32(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

void st_read_f32(const st_tensor *t, size_t off, size_t n, float *dst)
{
    const unsigned char *p = t->data;
    switch (t->dtype) {
    case ST_F32:
        memcpy(dst, p + off * 4, n * 4); /* little-endian host */
        break;
    case ST_F16:
        for (size_t i = 0; i < n; i++)
            dst[i] = vkb_f16_to_f32(load_u16(p + (off + i) * 2));
        break;
    case ST_BF16:
        for (size_t i = 0; i < n; i++)
            dst[i] = bf16_to_f32(load_u16(p + (off + i) * 2));
        break;
    default:
        memset(dst, 0, n * sizeof *dst); /* callers check the dtype first */
        break;
    }
}

void st_read_f16(const st_tensor *t, size_t off, size_t n, uint16_t *dst, int *inexact)
{
    const unsigned char *p = t->data;
    if (t->dtype == ST_F16) {
        memcpy(dst, p + off * 2, n * 2);
        return;
    }
    int lost = 0;
    for (size_t i = 0; i < n; i++) {
        float f;
        if (t->dtype == ST_F32)
            memcpy(&f, p + (off + i) * 4, 4);
        else if (t->dtype == ST_BF16)
            f = bf16_to_f32(load_u16(p + (off + i) * 2));
        else
            f = 0.0f;
        dst[i] = vkb_f32_to_f16(f);
        lost |= vkb_f16_to_f32(dst[i]) != f && f == f;
    }
    if (lost && inexact)
        *inexact = 1;
}
