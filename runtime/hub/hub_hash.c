/*
 * hub_hash.c — sha256 and git blob sha1 of a file through OpenSSL's EVP interface (libcrypto),
 * streamed in 1 MiB reads so multi-GB weights never sit in memory.
 */
#include "hub_hash.h"

#include "vkb_runtime.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
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

/* Digest of (prefix, file bytes) with md, as hex into out. */
static int digest_file(const EVP_MD *md, const char *prefix, const char *path, char *out,
                       char *err, size_t errlen)
{
    int rc = VKB_EIO;
    unsigned char *buf = NULL;
    EVP_MD_CTX *ctx = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        vkb_set_err(err, errlen, "cannot read %s: %m", path);
        return VKB_EIO;
    }
    buf = malloc(1 << 20);
    ctx = EVP_MD_CTX_new();
    if (!buf || !ctx) {
        rc = VKB_ENOMEM;
        goto cleanup;
    }
    if (!EVP_DigestInit_ex(ctx, md, NULL) ||
        (prefix && !EVP_DigestUpdate(ctx, prefix, strlen(prefix) + 1))) {
        vkb_set_err(err, errlen, "libcrypto digest init failed");
        goto cleanup;
    }
    size_t n;
    while ((n = fread(buf, 1, 1 << 20, f)) > 0)
        if (!EVP_DigestUpdate(ctx, buf, n)) {
            vkb_set_err(err, errlen, "libcrypto digest failed");
            goto cleanup;
        }
    if (ferror(f)) {
        vkb_set_err(err, errlen, "cannot read %s: %m", path);
        goto cleanup;
    }
    unsigned char dig[EVP_MAX_MD_SIZE];
    unsigned int dlen = 0;
    if (!EVP_DigestFinal_ex(ctx, dig, &dlen)) {
        vkb_set_err(err, errlen, "libcrypto digest failed");
        goto cleanup;
    }
    for (unsigned int i = 0; i < dlen; i++)
        sprintf(out + 2 * i, "%02x", dig[i]);
    rc = VKB_OK;
cleanup:
    EVP_MD_CTX_free(ctx);
    free(buf);
    fclose(f);
    return rc;
}

int hub_sha256_file(const char *path, char hex[65], char *err, size_t errlen)
{
    return digest_file(EVP_sha256(), NULL, path, hex, err, errlen);
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
    return digest_file(EVP_sha1(), prefix, path, hex, err, errlen);
}
