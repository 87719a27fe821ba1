/*
 * baseline.c — BERTScore rescaling baselines: finding bert_score's TSV for (lang, model) and
 * reading one LAYER row from it.
 *
 * bert_score ships its baselines as rescale_baseline/<lang>/<model_type>.tsv inside the
 * package, where a model type with an organisation ("microsoft/deberta-xlarge-mnli") becomes
 * a subfolder. The files are comma-separated despite the extension:
 *     LAYER,P,R,F
 *     0,0.3712891,0.37132213,0.36826715
 *     ...
 * and bert_score takes row num_layers (rows are layers 0..num_hidden_layers in order).
 */
#include "bertscore.h"
#include "vkb_runtime.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

enum { MAX_CANDIDATES = 8, MAX_PATH = 4096 };

/* A path component or relative name that cannot leave its root: no absolute path, no
 * backslash, no empty, "." or ".." component. allow_slash: subfolders allowed. */
static int safe_name(const char *s, int allow_slash)
{
    if (!s || !*s || strlen(s) > 512 || strchr(s, '\\'))
        return 0;
    const char *p = s;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        if (len == 0 || (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
            return 0;
        if (!slash)
            return 1;
        if (!allow_slash)
            return 0;
        p = slash + 1;
    }
}

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The model root a model folder was found under: the folder minus the model name when it
 * ends with it (VKB_MODEL_DIR/<name>), the hub folder for a Hugging Face cache snapshot
 * (<hub>/models--org--name/snapshots/<rev>), else the parent folder. */
static void model_root(const char *folder, const char *model_name, char *root, size_t rootlen)
{
    snprintf(root, rootlen, "%s", folder);
    size_t n = strlen(root);
    while (n > 1 && root[n - 1] == '/')
        root[--n] = '\0';
    size_t m = strlen(model_name);
    if (n > m + 1 && root[n - m - 1] == '/' && !strcmp(root + n - m, model_name)) {
        root[n - m - 1] = '\0';
        return;
    }
    char *hub = strstr(root, "/models--");
    if (hub) {
        *hub = '\0';
        return;
    }
    char *slash = strrchr(root, '/');
    if (slash == root)
        root[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        snprintf(root, rootlen, ".");
}

typedef struct candidates {
    int n;
    char path[MAX_CANDIDATES][MAX_PATH];
} candidates;

static void add_candidate(candidates *c, const char *fmt, const char *a, const char *b,
                          const char *d)
{
    if (c->n < MAX_CANDIDATES) {
        int len = snprintf(c->path[c->n], MAX_PATH, fmt, a, b, d);
        if (len > 0 && len < MAX_PATH)
            c->n++;
    }
}

int bertscore_find_baseline(const char *baseline_dir, const char *model_folder,
                            const char *lang, const char *model_name, char *path,
                            size_t pathlen, char *err, size_t errlen)
{
    if (!lang || !*lang)
        lang = "en";
    if (!safe_name(lang, 0)) {
        vkb_set_err(err, errlen, "bad lang '%s' for a rescaling baseline", lang);
        return VKB_EINVAL;
    }
    if (!safe_name(model_name, 1)) {
        vkb_set_err(err, errlen, "bad model name '%s' for a rescaling baseline",
                    model_name ? model_name : "(none)");
        return VKB_EINVAL;
    }
    const char *base = strrchr(model_name, '/');
    base = base ? base + 1 : NULL;

    candidates c = {0};
    char root[MAX_PATH];
    if (baseline_dir && *baseline_dir)
        snprintf(root, sizeof root, "%s", baseline_dir);
    else if (model_folder && *model_folder) {
        static const char sub[] = "/rescale_baseline";
        model_root(model_folder, model_name, root, sizeof root - sizeof sub);
        strcat(root, sub);
    } else
        root[0] = '\0';
    if (root[0]) {
        /* bert_score's own layout (organisation as a subfolder), then the flat one. */
        add_candidate(&c, "%s/%s/%s.tsv", root, lang, model_name);
        if (base)
            add_candidate(&c, "%s/%s/%s.tsv", root, lang, base);
    }
    if (model_folder && *model_folder)
        add_candidate(&c, "%s/rescale_baseline/%s.tsv%s", model_folder, lang, "");

    for (int i = 0; i < c.n; i++) {
        if (is_file(c.path[i])) {
            if (strlen(c.path[i]) >= pathlen) {
                vkb_set_err(err, errlen, "baseline path too long: %s", c.path[i]);
                return VKB_EINVAL;
            }
            memcpy(path, c.path[i], strlen(c.path[i]) + 1);
            return VKB_OK;
        }
    }
    char looked[2048] = "";
    size_t used = 0;
    for (int i = 0; i < c.n && used < sizeof looked; i++) {
        int w = snprintf(looked + used, sizeof looked - used, "%s%s", i ? ", " : "", c.path[i]);
        if (w > 0)
            used += (size_t)w;
    }
    vkb_set_err(err, errlen,
                "rescale_with_baseline: no baseline file for model '%s' and lang '%s' "
                "(looked for %s)",
                model_name, lang, c.n ? looked : "nothing: no baseline dir or model folder");
    return VKB_EINVAL;
}

/* Splits a line in place at commas into at most max fields; returns the count. Trailing
 * "\r\n" and surrounding spaces are dropped. */
static int split_fields(char *line, char **fields, int max)
{
    line[strcspn(line, "\r\n")] = '\0';
    int n = 0;
    char *p = line;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        char *end = p + strlen(p);
        while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
            *--end = '\0';
        if (n < max)
            fields[n] = p;
        n++;
        if (!comma)
            return n;
        p = comma + 1;
    }
}

static int parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    *out = strtod(s, &end);
    return *s && !*end && errno == 0;
}

int bertscore_read_baseline(const char *path, int num_layers, float b[3], char *err,
                            size_t errlen)
{
    int rc = VKB_EINVAL;
    char line[1024];
    int lineno = 0, found = 0;
    int col[4] = {-1, -1, -1, -1}; /* columns of LAYER, P, R, F */
    static const char *const names[4] = {"LAYER", "P", "R", "F"};
    FILE *f = fopen(path, "r");
    if (!f) {
        vkb_set_err(err, errlen, "cannot open baseline %s: %s", path, strerror(errno));
        return VKB_EINVAL;
    }
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *fields[8];
        int nf = split_fields(line, fields, 8);
        if (nf == 1 && !*fields[0])
            continue; /* blank line */
        if (nf > 8) {
            vkb_set_err(err, errlen, "%s:%d: too many columns", path, lineno);
            goto cleanup;
        }
        if (col[0] < 0) { /* the header */
            for (int k = 0; k < 4; k++)
                for (int i = 0; i < nf; i++)
                    if (!strcasecmp(fields[i], names[k]))
                        col[k] = i;
            if (col[0] < 0 || col[1] < 0 || col[2] < 0 || col[3] < 0) {
                vkb_set_err(err, errlen, "%s: header must be LAYER,P,R,F", path);
                goto cleanup;
            }
            continue;
        }
        double v[4];
        for (int k = 0; k < 4; k++) {
            if (col[k] >= nf || !parse_double(fields[col[k]], &v[k])) {
                vkb_set_err(err, errlen, "%s:%d: bad number in column %s", path, lineno,
                            names[k]);
                goto cleanup;
            }
        }
        if (v[0] == num_layers) {
            for (int k = 0; k < 3; k++)
                b[k] = (float)v[k + 1];
            found = 1;
            break;
        }
    }
    if (col[0] < 0) {
        vkb_set_err(err, errlen, "%s: empty baseline file", path);
        goto cleanup;
    }
    if (!found) {
        vkb_set_err(err, errlen, "%s has no row for LAYER %d", path, num_layers);
        goto cleanup;
    }
    for (int k = 0; k < 3; k++) {
        if (!isfinite(b[k]) || b[k] == 1.0f) {
            vkb_set_err(err, errlen, "%s: LAYER %d baseline %s is 1 or not finite", path,
                        num_layers, names[k + 1]);
            goto cleanup;
        }
    }
    rc = VKB_OK;
cleanup:
    fclose(f);
    return rc;
}
