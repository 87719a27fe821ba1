/*
 * safetensors.h — read-only access to Hugging Face safetensors checkpoints.
 *
 * File format: 8-byte little-endian header length N, N bytes of JSON
 *   {name: {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}}
 * then the raw little-endian tensor data (offsets relative to the byte after the header).
 * A sharded checkpoint is model.safetensors.index.json ({"weight_map": {name: file}}) plus the
 * files it names. Nothing is read at open but the headers: a tensor is an offset into its
 * file, which stays open until st_close, and values are read (with pread, so a file that
 * shrinks under us is an error, not SIGBUS) through the st_read_* converters.
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
    uint64_t offset;    /* of its count * element size bytes in the file */
    int fd;             /* the file, open until st_close */
    const char *file;   /* its path (for messages) */
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

/* Reads n elements starting at element off of an F32/F16/BF16 tensor, converting.
 * st_read_f16 rounds to nearest even; *inexact (if non-NULL) is set to 1 when any value
 * changed on the way (out of f16 range or lost mantissa bits), left alone otherwise.
 * VKB_OK, or VKB_EIO when the file cannot be read (it shrank since st_open_*). */
int st_read_f32(const st_tensor *t, size_t off, size_t n, float *dst);
int st_read_f16(const st_tensor *t, size_t off, size_t n, uint16_t *dst, int *inexact);

#endif
