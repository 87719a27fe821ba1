/*
 * hub_digest.c — the hub's two file digests (hub_hash.h) over the platform's
 * hub_digest_file, and the hex check both use.
 */
#include "hub_hash.h"

#include "vkb_runtime.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

int hub_is_hex(const char *s, size_t n)
{
    if (strlen(s) != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return 0;
    }
    return 1;
}

int hub_sha256_file(const char *path, char hex[65], char *err, size_t errlen)
{
    return hub_digest_file(HUB_SHA256, NULL, path, hex, err, errlen);
}

int hub_git_sha1_file(const char *path, char hex[41], char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        vkb_set_err(err, errlen, "cannot read %s: %m", path);
        return VKB_EIO;
    }
    char prefix[48]; /* "blob <size>" and its NUL are hashed */
    snprintf(prefix, sizeof prefix, "blob %lld", (long long)st.st_size);
    return hub_digest_file(HUB_SHA1, prefix, path, hex, err, errlen);
}
