/*
 * hub_hash_win32.c — hub_digest_file on Windows' CNG (bcrypt.dll): BCryptCreateHash on the
 * SHA256 or SHA1 provider, streamed in 1 MiB reads like hub_hash.c's OpenSSL version.
 */
#include "hub_hash.h"

#include "vkb_runtime.h"

#include <windows.h>
#include <bcrypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int hub_digest_file(hub_digest_kind kind, const char *prefix, const char *path, char *out,
                    char *err, size_t errlen)
{
    int rc = VKB_EIO;
    unsigned char *buf = NULL;
    BCRYPT_ALG_HANDLE alg = NULL;
    BCRYPT_HASH_HANDLE hash = NULL;
    ULONG dlen = kind == HUB_SHA256 ? 32 : 20;
    NTSTATUS st;
    FILE *f = fopen(path, "rb");
    if (!f) {
        vkb_set_err(err, errlen, "cannot read %s: %m", path);
        return VKB_EIO;
    }
    buf = malloc(1 << 20);
    if (!buf) {
        rc = VKB_ENOMEM;
        goto cleanup;
    }
    st = BCryptOpenAlgorithmProvider(
        &alg, kind == HUB_SHA256 ? BCRYPT_SHA256_ALGORITHM : BCRYPT_SHA1_ALGORITHM, NULL, 0);
    if (BCRYPT_SUCCESS(st)) /* the hash object's memory is CNG's own (Windows 7 and later) */
        st = BCryptCreateHash(alg, &hash, NULL, 0, NULL, 0, 0);
    if (BCRYPT_SUCCESS(st) && prefix)
        st = BCryptHashData(hash, (PUCHAR)prefix, (ULONG)strlen(prefix) + 1, 0);
    if (!BCRYPT_SUCCESS(st)) {
        vkb_set_err(err, errlen, "bcrypt digest init failed (NTSTATUS 0x%08lx)",
                    (unsigned long)st);
        goto cleanup;
    }
    size_t n;
    while ((n = fread(buf, 1, 1 << 20, f)) > 0)
        if (!BCRYPT_SUCCESS(st = BCryptHashData(hash, buf, (ULONG)n, 0))) {
            vkb_set_err(err, errlen, "bcrypt digest failed (NTSTATUS 0x%08lx)",
                        (unsigned long)st);
            goto cleanup;
        }
    if (ferror(f)) {
        vkb_set_err(err, errlen, "cannot read %s: %m", path);
        goto cleanup;
    }
    unsigned char dig[32];
    if (!BCRYPT_SUCCESS(st = BCryptFinishHash(hash, dig, dlen, 0))) {
        vkb_set_err(err, errlen, "bcrypt digest failed (NTSTATUS 0x%08lx)", (unsigned long)st);
        goto cleanup;
    }
    for (ULONG i = 0; i < dlen; i++)
        sprintf(out + 2 * i, "%02x", dig[i]);
    rc = VKB_OK;
cleanup:
    if (hash)
        BCryptDestroyHash(hash);
    if (alg)
        BCryptCloseAlgorithmProvider(alg, 0);
    free(buf);
    fclose(f);
    return rc;
}
