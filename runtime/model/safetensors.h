/*
 * safetensors.h — read-only access to Hugging Face safetensors checkpoints through mmap.
 *
 * File format: 8-byte little-endian header length N, N bytes of JSON
 *   {name: {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}}
 * then the raw little-endian tensor data (offsets relative to the byte after the header).
 * A sharded checkpoint is model.safetensors.index.json ({"weight_map": {name: file}}) plus the
 * files it names. Nothing is copied at open: tensors point into the mappings, which live until
 * st_close. Data may be unaligned, so values are read through the st_read_* converters.
 */
#ifndef VKB_SAFETENSORS_H
#define VKB_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

typedef enum { ST_F32, ST_F16, ST_BF16, ST_OTHER } st_dtype;

#define ST_MAX_DIMS 8

typedef struct st_tensor {
    const char *name;
    st_dtype dtype;     /* ST_OTHER for any other valid dtype (I64, U8, ...) */
    char dtype_name[12];/* as written in the header: "F32", "I64", ... */
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    size_t count;       /* elements */
    const void *data;   /* into the mapping; count * element size bytes */
    const char *file;   /* the file it lives in (for messages) */
} st_tensor;

typedef struct st_archive st_archive;

/* Opens one .safetensors file. Errors name the file and what is wrong with it. */
int st_open_file(const char *path, st_archive **out, char *err, size_t errlen);
/* Opens a model folder's checkpoint: model.safetensors.index.json (sharded) if present,
 * else model.safetensors. VKB_ENOTFOUND when neither exists. */
int st_open_dir(const char *dir, st_archive **out, char *err, size_t errlen);
void st_close(st_archive *a);

int st_count(const st_archive *a);
const st_tensor *st_at(const st_archive *a, int i);
/* The tensor called name, or NULL. */
const st_tensor *st_find(const st_archive *a, const char *name);

/* Drops the mapped pages from this process's resident set (madvise DONTNEED): after the
 * weights are uploaded the mapping need not cost memory. Later reads fault the pages back in
 * from the page cache, so this is always safe, also while another thread reads. */
void st_drop_pages(const st_archive *a);

/* Reads n elements starting at element off of an F32/F16/BF16 tensor, converting.
 * st_read_f16 rounds to nearest even; *inexact (if non-NULL) is set to 1 when any value
 * changed on the way (out of f16 range or lost mantissa bits), left alone otherwise. */
void st_read_f32(const st_tensor *t, size_t off, size_t n, float *dst);
void st_read_f16(const st_tensor *t, size_t off, size_t n, uint16_t *dst, int *inexact);

#endif
