/* svc_docs.c — the Swagger UI page at /docs and, for offline hosts, its two files served from
 * memory. The files are read once at start from the one folder the operator named; no
 * request path is ever used to open a file. */
#include "svc_docs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* swagger-ui-dist 5's bundle is ~1.5 MB, its css ~150 kB */
#define MAX_ASSET_BYTES (32u << 20)

/* FastAPI's get_swagger_ui_html, with these two addresses and its default parameters. */
static const char cdn_js[] = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui-bundle.js";
static const char cdn_css[] = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui.css";

static const char page_format[] =
    "<!DOCTYPE html>\n"
    "<html>\n"
    "<head>\n"
    "<meta charset=\"utf-8\">\n"
    "<link type=\"text/css\" rel=\"stylesheet\" href=\"%s\">\n"
    "<title>vkbridge - Swagger UI</title>\n"
    "</head>\n"
    "<body>\n"
    "<div id=\"swagger-ui\"></div>\n"
    "<noscript>The interactive API documentation needs JavaScript; the API itself is described "
    "in <a href=\"/openapi.json\">/openapi.json</a> (OpenAPI 3).</noscript>\n"
    "<script src=\"%s\"></script>\n"
    "<script>\n"
    "const ui = SwaggerUIBundle({\n"
    "    url: '/openapi.json',\n"
    "    dom_id: '#swagger-ui',\n"
    "    layout: 'BaseLayout',\n"
    "    deepLinking: true,\n"
    "    showExtensions: true,\n"
    "    showCommonExtensions: true,\n"
    "    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],\n"
    "})\n"
    "</script>\n"
    "</body>\n"
    "</html>\n";

/* The whole regular file dir/name into *out (malloc'd). */
static int read_asset(const char *dir, const char *name, char **out, size_t *len, char *err,
                      size_t errlen)
{
    char path[4096];
    struct stat st;
    FILE *f = NULL;
    int rc = -1;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "rb");
    if (!f || fstat(fileno(f), &st) != 0) {
        snprintf(err, errlen, "--docs-assets: cannot read %s: %s (want swagger-ui-dist's files)",
                 path, strerror(errno));
        goto cleanup;
    }
    if (!S_ISREG(st.st_mode) || st.st_size <= 0 || (unsigned long long)st.st_size > MAX_ASSET_BYTES) {
        snprintf(err, errlen, "--docs-assets: %s is not a file of 1 byte to 32 MiB", path);
        goto cleanup;
    }
    *len = (size_t)st.st_size;
    *out = malloc(*len);
    if (!*out) {
        snprintf(err, errlen, "out of memory reading %s", path);
        goto cleanup;
    }
    if (fread(*out, 1, *len, f) != *len) {
        snprintf(err, errlen, "--docs-assets: short read of %s", path);
        free(*out);
        *out = NULL;
        goto cleanup;
    }
    rc = 0;
cleanup:
    if (f)
        fclose(f);
    return rc;
}

int svc_docs_init(svc_docs *d, const char *assets_dir, char *err, size_t errlen)
{
    memset(d, 0, sizeof(*d));
    int local = assets_dir && *assets_dir;
    if (local && (read_asset(assets_dir, "swagger-ui-bundle.js", &d->js, &d->js_len, err, errlen) ||
                  read_asset(assets_dir, "swagger-ui.css", &d->css, &d->css_len, err, errlen)))
        goto fail;
    const char *css = local ? SVC_DOCS_CSS_PATH : cdn_css, *js = local ? SVC_DOCS_JS_PATH : cdn_js;
    size_t cap = sizeof(page_format) + strlen(css) + strlen(js);
    d->page = malloc(cap);
    if (!d->page) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    d->page_len = (size_t)snprintf(d->page, cap, page_format, css, js);
    return 0;
fail:
    svc_docs_free(d);
    return -1;
}

void svc_docs_free(svc_docs *d)
{
    free(d->page);
    free(d->js);
    free(d->css);
    memset(d, 0, sizeof(*d));
}

const char *svc_docs_asset(const svc_docs *d, const char *path, size_t path_len,
                           const char **content_type, size_t *len)
{
    if (d->js && path_len == strlen(SVC_DOCS_JS_PATH) && !memcmp(path, SVC_DOCS_JS_PATH, path_len)) {
        *content_type = "text/javascript; charset=utf-8";
        *len = d->js_len;
        return d->js;
    }
    if (d->css && path_len == strlen(SVC_DOCS_CSS_PATH) &&
        !memcmp(path, SVC_DOCS_CSS_PATH, path_len)) {
        *content_type = "text/css; charset=utf-8";
        *len = d->css_len;
        return d->css;
    }
    return NULL;
}
