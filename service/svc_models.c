/* svc_models.c — the loop's view of models: facts of the models loaded through the service
 * (so a request for a loaded model goes straight to the engine), what each was used for
 * (/info's "embed:NAME"), and the folders under VKB_MODEL_DIR (/v1/models). */
#include "svc_server.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

svc_model *svc_models_find(svc_server *srv, const char *name)
{
    for (int i = 0; i < srv->n_models; i++)
        if (!strcmp(srv->models[i].name, name))
            return &srv->models[i];
    return NULL;
}

svc_model *svc_models_add(svc_server *srv, const char *name, const vkb_model_facts *facts)
{
    svc_model *m = svc_models_find(srv, name);
    if (m) {
        m->facts = *facts;
        return m;
    }
    if (srv->n_models == srv->cap_models) {
        int cap = srv->cap_models ? srv->cap_models * 2 : 8;
        svc_model *grown = realloc(srv->models, (size_t)cap * sizeof(*grown));
        if (!grown)
            return NULL;
        srv->models = grown;
        srv->cap_models = cap;
    }
    m = &srv->models[srv->n_models++];
    memset(m, 0, sizeof(*m));
    snprintf(m->name, sizeof(m->name), "%s", name);
    m->facts = *facts;
    return m;
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int svc_models_loaded_labels(svc_server *srv, char ***labels, int *n)
{
    char **names = NULL;
    int n_names = 0;
    *labels = NULL;
    *n = 0;
    if (vkb_engine_loaded_models(srv->engine, &names, &n_names) != VKB_OK)
        return -1;
    char **out = calloc((size_t)n_names * 2 + 1, sizeof(*out));
    int count = 0, oom = !out;
    for (int i = 0; !oom && i < n_names; i++) {
        svc_model *m = svc_models_find(srv, names[i]);
        int embed = m ? m->for_embed : 0, bertscore = m ? m->for_bertscore : 0;
        if (!embed && !bertscore)
            embed = 1; /* loaded by someone else: the engine's models are embedders first */
        char label[300];
        if (bertscore) {
            snprintf(label, sizeof(label), "bertscore:%s", names[i]);
            oom = !(out[count++] = strdup(label));
        }
        if (embed && !oom) {
            snprintf(label, sizeof(label), "embed:%s", names[i]);
            oom = !(out[count++] = strdup(label));
        }
    }
    vkb_engine_free_names(names, n_names);
    if (oom) {
        for (int i = 0; out && i < count; i++)
            free(out[i]);
        free(out);
        return -1;
    }
    qsort(out, (size_t)count, sizeof(*out), compare_strings);
    *labels = out;
    *n = count;
    return 0;
}

int svc_models_scan_dir(const char *dir, char ***names, int *n)
{
    *names = NULL;
    *n = 0;
    if (!dir)
        return 0;
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    char **out = NULL;
    int count = 0, cap = 0;
    struct dirent *ent;
    while ((ent = readdir(d)) != NULL) {
        if (ent->d_name[0] == '.')
            continue;
        char path[4096];
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s/config.json", dir, ent->d_name);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (count == cap) {
            cap = cap ? cap * 2 : 16;
            char **grown = realloc(out, (size_t)cap * sizeof(*grown));
            if (!grown)
                break;
            out = grown;
        }
        out[count] = strdup(ent->d_name);
        if (out[count])
            count++;
    }
    closedir(d);
    if (count)
        qsort(out, (size_t)count, sizeof(*out), compare_strings);
    *names = out;
    *n = count;
    return 0;
}

int svc_models_load_blocking(vkb_engine *e, const char *name, vkb_model_facts *facts, char *err,
                             size_t errlen)
{
    int rc = vkb_engine_load(e, name, err, errlen);
    if (rc == VKB_OK)
        rc = vkb_engine_model_facts(e, name, facts, err, errlen);
    return rc;
}

int svc_status_for_engine(int status)
{
    switch (status) {
    case VKB_OK: return 200;
    case VKB_EINVAL: return 400;
    case VKB_EUNSUPPORTED: return 400;
    case VKB_ENOTFOUND: return 404;
    case VKB_EBUSY: return 503;
    default: return 500;
    }
}
