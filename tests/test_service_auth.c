/* test_service_auth.c — X-API-Key and Bearer checks. */
#include "svc_auth.h"
#include "testlib.h"

#include <string.h>

static int ok(const char *key, const char *x, const char *authz, int bearer)
{
    svc_credentials c = {x, x ? strlen(x) : 0, authz, authz ? strlen(authz) : 0};
    return svc_auth_ok(key, &c, bearer);
}

int main(void)
{
    CHECK(svc_secret_equal("abc", "abc", 3), "equal");
    CHECK(!svc_secret_equal("abc", "abd", 3), "last byte differs");
    CHECK(!svc_secret_equal("abc", "ab", 2), "prefix");
    CHECK(!svc_secret_equal("abc", "abcd", 4), "longer");
    CHECK(!svc_secret_equal("abc", "abc\0", 4), "trailing NUL");
    CHECK(!svc_secret_equal("abc", "", 0), "empty");

    CHECK(ok(NULL, NULL, NULL, 0), "no key configured: open");
    CHECK(!ok("k3y", NULL, NULL, 1), "key configured, nothing sent");
    CHECK(ok("k3y", "k3y", NULL, 0), "X-API-Key matches");
    CHECK(!ok("k3y", "K3Y", NULL, 0), "case matters");
    CHECK(!ok("k3y", NULL, "Bearer k3y", 0), "Bearer not accepted off /v1");
    CHECK(ok("k3y", NULL, "Bearer k3y", 1), "Bearer on /v1");
    CHECK(ok("k3y", NULL, "bearer  k3y ", 1), "scheme is case-insensitive, spaces trimmed");
    CHECK(!ok("k3y", NULL, "Basic k3y", 1), "other schemes refused");
    CHECK(!ok("k3y", NULL, "Bearer", 1), "scheme without token");
    CHECK(!ok("k3y", "wrong", "Bearer wrong", 1), "both wrong");
    CHECK(ok("k3y", "wrong", "Bearer k3y", 1), "either credential may match");
    return tl_finish();
}
