/* svc_auth.c — see svc_auth.h. */
#include "svc_auth.h"

#include <string.h>
#include <strings.h>

int svc_secret_equal(const char *want, const char *got, size_t got_len)
{
    size_t want_len = strlen(want);
    /* volatile keeps the compiler from turning the loop into an early-exit memcmp */
    volatile unsigned char diff = (unsigned char)(want_len != got_len);
    for (size_t i = 0; i < want_len; i++) {
        unsigned char g = i < got_len ? (unsigned char)got[i] : 0;
        diff |= (unsigned char)(g ^ (unsigned char)want[i]);
    }
    return diff == 0;
}

int svc_auth_ok(const char *api_key, const svc_credentials *c, int allow_bearer)
{
    if (!api_key)
        return 1;
    int ok = 0;
    if (c->x_api_key)
        ok |= svc_secret_equal(api_key, c->x_api_key, c->x_api_key_len);
    if (allow_bearer && c->authorization && c->authorization_len > 7 &&
        !strncasecmp(c->authorization, "bearer ", 7)) {
        const char *token = c->authorization + 7;
        size_t len = c->authorization_len - 7;
        while (len && *token == ' ') {
            token++;
            len--;
        }
        while (len && token[len - 1] == ' ')
            len--;
        ok |= svc_secret_equal(api_key, token, len);
    }
    return ok;
}
