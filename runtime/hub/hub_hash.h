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

/* The platform's part (hub_hash.c: OpenSSL's libcrypto; hub_hash_win32.c: Windows' CNG,
 * bcrypt.dll): the digest of prefix (with its NUL; NULL for none) followed by the file's
 * bytes, streamed in 1 MiB reads, as lowercase hex into hex (65 / 41 bytes). The two
 * functions above are this one with their prefix (hub_digest.c). */
typedef enum { HUB_SHA256, HUB_SHA1 } hub_digest_kind;
int hub_digest_file(hub_digest_kind kind, const char *prefix, const char *path, char *hex,
                    char *err, size_t errlen);

#endif
