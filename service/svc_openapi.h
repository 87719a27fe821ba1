/*
 * svc_openapi.h — the OpenAPI 3 document served at /openapi.json.
 */
#ifndef VKB_SVC_OPENAPI_H
#define VKB_SVC_OPENAPI_H

#include <stddef.h>

/* The document as compact JSON with info.version = version; malloc'd (free()). */
char *svc_openapi_build(const char *version, size_t *len);

#endif
