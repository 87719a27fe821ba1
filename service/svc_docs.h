/*
 * svc_docs.h — /docs as FastAPI serves it: Swagger UI over /openapi.json. By default the page
 * loads Swagger UI from its CDN (jsDelivr, swagger-ui-dist@5, as FastAPI does); with
 * --docs-assets DIR (VKB_DOCS_ASSETS) it serves DIR/swagger-ui-bundle.js and
 * DIR/swagger-ui.css itself, read once at start, for hosts without internet.
 */
#ifndef VKB_SVC_DOCS_H
#define VKB_SVC_DOCS_H

#include <stddef.h>

typedef struct svc_docs {
    char *page; /* the /docs HTML */
    size_t page_len;
    char *js, *css; /* the local copy; NULL when the page points at the CDN */
    size_t js_len, css_len;
} svc_docs;

/* The paths of the local copy (routes of SVC_EP_DOCS_ASSET). */
#define SVC_DOCS_JS_PATH "/docs/swagger-ui-bundle.js"
#define SVC_DOCS_CSS_PATH "/docs/swagger-ui.css"

/* Builds the page; with assets_dir (may be NULL or "") reads the two files from it. Returns 0,
 * or -1 with one line in err (a file missing, unreadable, empty or over 32 MiB; no memory). */
int svc_docs_init(svc_docs *d, const char *assets_dir, char *err, size_t errlen);
void svc_docs_free(svc_docs *d);
/* The body and content type for a docs asset path; NULL when it is not served (no local
 * copy, or another path). */
const char *svc_docs_asset(const svc_docs *d, const char *path, size_t path_len,
                           const char **content_type, size_t *len);

#endif
