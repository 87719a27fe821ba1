/*
 * hub_hash.h — internal: the digests the Hugging Face hub names files by. LFS files (weights)
 * carry their sha256 in X-Linked-Etag; small files kept in git carry their git blob id,
 * sha1("blob <size>\0" + bytes), in ETag. Both come out as lowercase hex.
 */
#ifndef VKB_HUB_HASH_H
#define VKB_HUB_HASH_H

#include <stddef.h>

/* hex gets 65 bytes (sha256) / 41 bytes (git sha1). VKB_EIO with a line in err when the
 * file cannot be read. */
int hub_sha256_file(const char *path, char hex[65], char *err, size_t errlen);
int hub_git_sha1_file(const char *path, char hex[41], char *err, size_t errlen);

/* 1 if s is exactly n lowercase-or-uppercase hex digits. */
int hub_is_hex(const char *s, size_t n);

#endif
