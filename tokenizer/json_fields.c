/*
 * json_fields.c — the JSON fields that tokenizer.json and the older vocab.json and
 * tokenizer_config.json share, so that both loaders read them the same way.
 */
#include "tk_json.h"

#include <string.h>

int tk_json_bool(json_t *o, const char *key, int def)
{
    json_t *v = json_object_get(o, key);
    return json_is_boolean(v) ? json_is_true(v) : def;
}

int tk_json_vocab(tk_strmap *vocab, json_t *obj, const char *path, char *err, size_t errlen)
{
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val)
    {
        json_int_t id = json_integer_value(val);
        if (!json_is_integer(val) || id < 0 || id >= TK_MAX_IDS) {
            tk_errf(err, errlen, "%s: vocab entry '%s' has no valid id", path, key);
            return -1;
        }
        if (tk_strmap_put(vocab, key, strlen(key), (int32_t)id)) {
            tk_errf(err, errlen, "%s: out of memory", path);
            return -1;
        }
    }
    return 0;
}
