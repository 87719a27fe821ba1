/* test_service_openapi.c — /openapi.json parses and describes every endpoint. */
#include "svc_docs.h"
#include "svc_openapi.h"
#include "testlib.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
    size_t len;
    const char *type;
    char *text = svc_openapi_build("9.9.9", &len);
    CHECK(text && len == strlen(text), "document builds (the template is valid JSON)");
    json_t *root = text ? json_loads(text, 0, NULL) : NULL;
    CHECK(root && !strcmp(json_string_value(json_object_get(root, "openapi")), "3.0.3"), "OpenAPI 3");
    CHECK(!strcmp(json_string_value(json_object_get(json_object_get(root, "info"), "version")), "9.9.9"),
          "version filled in");
    const char *paths[] = {"/health", "/info", "/status", "/embed", "/bertscore",
                           "/v1/embeddings", "/v1/models", "/metrics", "/openapi.json", "/docs"};
    json_t *p = json_object_get(root, "paths");
    for (size_t i = 0; i < sizeof(paths) / sizeof(*paths); i++)
        CHECK(json_object_get(p, paths[i]) != NULL, "path %s documented", paths[i]);
    /* every $ref points at something that exists */
    json_t *schemas = json_object_get(json_object_get(root, "components"), "schemas");
    json_t *responses = json_object_get(json_object_get(root, "components"), "responses");
    const char *s = text;
    int refs = 0, broken = 0;
    while ((s = strstr(s, "\"$ref\":\"#/components/")) != NULL) {
        s += strlen("\"$ref\":\"#/components/");
        const char *slash = strchr(s, '/'), *end = strchr(s, '"');
        char name[128];
        snprintf(name, sizeof(name), "%.*s", (int)(end - slash - 1), slash + 1);
        json_t *table = !strncmp(s, "schemas/", 8) ? schemas : responses;
        refs++;
        if (!json_object_get(table, name)) {
            broken++;
            CHECK(0, "dangling $ref %s", name);
        }
    }
    CHECK(refs > 20 && broken == 0, "%d refs resolve", refs);
    json_decref(root);
    free(text);

    /* /docs: Swagger UI from the CDN by default, from --docs-assets when given */
    svc_docs d;
    char err[256];
    CHECK(svc_docs_init(&d, NULL, err, sizeof err) == 0 && d.page_len == strlen(d.page) &&
              strstr(d.page, "url: '/openapi.json'") &&
              strstr(d.page, "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui-bundle.js") &&
              !d.js && !svc_docs_asset(&d, SVC_DOCS_JS_PATH, strlen(SVC_DOCS_JS_PATH), &type, &len),
          "docs page over the CDN, no local files served");
    svc_docs_free(&d);
    char dir[] = "/tmp/vkb-docs-XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "temp dir");
    CHECK(svc_docs_init(&d, dir, err, sizeof err) == -1 && strstr(err, "swagger-ui-bundle.js"),
          "missing assets named: %s", err);
    char path[256];
    const char *names[] = {"swagger-ui-bundle.js", "swagger-ui.css"};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        FILE *f = fopen(path, "w");
        fputs(i ? "body{}" : "var SwaggerUIBundle;", f);
        fclose(f);
    }
    CHECK(svc_docs_init(&d, dir, err, sizeof err) == 0 && strstr(d.page, "src=\"" SVC_DOCS_JS_PATH "\"") &&
              !strstr(d.page, "cdn.jsdelivr"),
          "local assets: the page points at them: %s", err);
    const char *body = svc_docs_asset(&d, SVC_DOCS_JS_PATH, strlen(SVC_DOCS_JS_PATH), &type, &len);
    CHECK(body && len == 20 && !memcmp(body, "var SwaggerUIBundle;", 20) && strstr(type, "javascript"),
          "the bundle served from memory");
    body = svc_docs_asset(&d, SVC_DOCS_CSS_PATH, strlen(SVC_DOCS_CSS_PATH), &type, &len);
    CHECK(body && len == 6 && strstr(type, "text/css"), "the css served from memory");
    CHECK(!svc_docs_asset(&d, "/docs/../etc/passwd", 19, &type, &len), "no other path");
    svc_docs_free(&d);
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        remove(path);
    }
    rmdir(dir);
    return tl_finish();
}
