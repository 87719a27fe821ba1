/* test_service_openapi.c — /openapi.json parses and describes every endpoint. */
#include "svc_openapi.h"
#include "testlib.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    size_t len;
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

    const char *html = svc_docs_html(&len);
    CHECK(len == strlen(html) && strstr(html, "/openapi.json") && strstr(html, "/v1/embeddings"),
          "docs page");
    return tl_finish();
}
