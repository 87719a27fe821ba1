/*
 * hub_hash.c — hub_digest_file through OpenSSL's EVP interface (libcrypto), streamed in 1 MiB
 * reads so multi-GB weights never sit in memory. (hub_hash_win32.c: the same on BCrypt.)
 */
#include "hub_hash.h"

#include "vkb_runtime.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int hub_digest_file(hub_digest_kind kind, const char *prefix, const char *path, char *out,
                    char *err, size_t errlen)
{
    const EVP_MD *md = kind == HUB_SHA256 ? EVP_sha256() : EVP_sha1();
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
