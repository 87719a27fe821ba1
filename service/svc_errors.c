/* svc_errors.c — see svc_errors.h. */
#include "svc_errors.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_ITEMS = 20 };

/* Messages may quote user input cut at a byte limit; never let that drop the key. */
static json_t *text_value(const char *s)
{
    json_t *v = json_string(s);
    return v ? v : json_string("(message is not valid UTF-8)");
}

void svc_error_init(svc_error *e) { memset(e, 0, sizeof(*e)); }

void svc_error_clear(svc_error *e)
{
    json_decref(e->items);
    svc_error_init(e);
}

void svc_error_set(svc_error *e, int status, const char *fmt, ...)
{
    json_decref(e->items);
    e->items = NULL;
    e->status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof(e->message), fmt, ap);
    va_end(ap);
}

void svc_error_add_item(svc_error *e, json_t *loc, const char *type, const char *msg,
                        json_t *ctx)
{
    if (e->status != 422) { /* a validation error replaces any plain one */
        json_decref(e->items);
        e->items = json_array();
        e->status = 422;
        snprintf(e->message, sizeof(e->message), "%s", msg);
    }
    if (!e->items || json_array_size(e->items) >= MAX_ITEMS) {
        json_decref(loc);
        json_decref(ctx);
        return;
    }
    json_t *item = json_object();
    json_object_set_new(item, "loc", loc ? loc : json_array());
    json_object_set_new(item, "msg", text_value(msg));
    json_object_set_new(item, "type", json_string(type));
    if (ctx)
        json_object_set_new(item, "ctx", ctx);
    json_array_append_new(e->items, item);
}

int svc_error_status(const svc_error *e, svc_api api)
{
    if (api == SVC_API_OPENAI && e->status == 422)
        return 400;
    return e->status;
}

const char *svc_openai_error_type(int status)
{
    /* as OpenAI answers: a bad key is an invalid_request_error with code invalid_api_key */
    switch (status) {
    case 429: return "rate_limit_error";
    default: return status >= 500 ? "server_error" : "invalid_request_error";
    }
}

/* "input[3]" from ["body","input",3]: the parameter OpenAI names in its errors. */
static json_t *openai_param(const json_t *items)
{
    const json_t *loc = json_object_get(json_array_get(items, 0), "loc");
    if (!json_is_array(loc) || json_array_size(loc) < 2)
        return json_null();
    char param[128] = "";
    size_t used = 0;
    for (size_t i = 1; i < json_array_size(loc) && used < sizeof(param) - 24; i++) {
        const json_t *part = json_array_get(loc, i);
        int n = json_is_integer(part)
                    ? snprintf(param + used, sizeof(param) - used, "[%lld]",
                               (long long)json_integer_value(part))
                    : snprintf(param + used, sizeof(param) - used, "%s%.40s", i > 1 ? "." : "",
                               json_string_value(part) ? json_string_value(part) : "?");
        used += (size_t)n;
    }
    return json_string(param);
}

char *svc_error_body(const svc_error *e, svc_api api, size_t *len)
{
    json_t *root = json_object();
    if (api == SVC_API_OPENAI) {
        json_t *err = json_object();
        json_t *param = e->items ? openai_param(e->items) : json_null();
        char message[700];
        if (e->items && json_is_string(param))
            snprintf(message, sizeof(message), "Invalid '%s': %s", json_string_value(param),
                     e->message);
        else
            snprintf(message, sizeof(message), "%s", e->message);
        json_object_set_new(err, "message", text_value(message));
        json_object_set_new(err, "type", json_string(svc_openai_error_type(e->status)));
        json_object_set_new(err, "param", param);
        json_object_set_new(err, "code", e->code[0] ? json_string(e->code) : json_null());
        json_object_set_new(root, "error", err);
    } else if (e->items) {
        json_object_set(root, "detail", e->items);
    } else {
        json_object_set_new(root, "detail", text_value(e->message));
    }
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    if (text && len)
        *len = strlen(text);
    return text;
}
