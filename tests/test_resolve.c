/*
 * test_resolve.c — model names to folders: name validation, VKB_MODEL_DIR, the Hugging Face
 * cache layout (refs/main, newest snapshot), the sentence-transformers short-name mapping,
 * and every escape attempt we can think of (bad names, symlinks out of each root, garbled
 * refs). Self-contained: builds its roots under a fresh temporary folder.
 */
#include "resolve.h"
#include "testlib.h"
#include "vkb_runtime.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char tmp[256];

static void mkdirs(const char *rel)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", tmp, rel);
    for (char *s = p + strlen(tmp) + 1; *s; s++)
        if (*s == '/') {
            *s = '\0';
            mkdir(p, 0755);
            *s = '/';
        }
    mkdir(p, 0755);
}

static void write_file(const char *rel, const char *text)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", tmp, rel);
    FILE *f = fopen(p, "w");
    if (!f) {
        CHECK(0, "cannot write %s", p);
        return;
    }
    fputs(text, f);
    fclose(f);
}

static void symlink_rel(const char *target, const char *rel)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", tmp, rel);
    CHECK(symlink(target, p) == 0, "symlink %s -> %s", p, target);
}

/* A model folder: just a config.json (resolution does not read it). */
static void make_model(const char *rel)
{
    char p[PATH_MAX];
    mkdirs(rel);
    snprintf(p, sizeof p, "%s/config.json", rel);
    write_file(p, "{}");
}

static void set_mtime(const char *rel, time_t t)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", tmp, rel);
    struct timespec ts[2] = {{t, 0}, {t, 0}};
    CHECK(utimensat(AT_FDCWD, p, ts, 0) == 0, "utimensat %s", p);
}

static char *abs_path(const char *rel)
{
    static char out[PATH_MAX];
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", tmp, rel);
    if (!realpath(p, out))
        snprintf(out, sizeof out, "(absent)");
    return out;
}

static int resolve(const char *model_dir_rel, const char *name, char *out)
{
    char dir[PATH_MAX], err[512] = "";
    if (model_dir_rel)
        snprintf(dir, sizeof dir, "%s/%s", tmp, model_dir_rel);
    int rc = resolve_model(model_dir_rel ? dir : NULL, name, out, PATH_MAX, err, sizeof err);
    if (rc != VKB_OK)
        CHECK(err[0] != '\0', "an error message for '%s'", name);
    return rc;
}

static void test_names(void)
{
    static const char *good[] = {"all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2",
                                 "tiny-bert", "a.b_c-d", "A1", "org/x.y", "roberta-large"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        CHECK(resolve_check_name(good[i], NULL, 0) == VKB_OK, "'%s' accepted", good[i]);

    char long_part[128], long_name[256];
    memset(long_part, 'a', 97);
    long_part[97] = '\0';
    memset(long_name, 'b', 90);
    long_name[90] = '/';
    memset(long_name + 91, 'c', 96);
    long_name[187] = '\0';
    CHECK(resolve_check_name(long_name, NULL, 0) == VKB_OK, "187-char name with two 96 parts");
    memset(long_name, 'b', 220);
    long_name[220] = '\0';
    static const char *bad[] = {"", "..", ".", "../etc", "../../etc/passwd", "/etc/passwd",
                                "a/../b", "a/b/c", "a//b", "/a", "a/", ".hidden", "a/.hidden",
                                "-rf", "a b", "a\\b", "a\nb", "a%2e%2e", "a:b", "a..b",
                                "a--b", "org--x/y", "a.", "~/x", "$HOME", "a\tb", "é",
                                "a/b/../../c", "...", "a/..", "./a", "C:\\x", "a*", "a?"};
    char err[256];
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err[0] = '\0';
        CHECK(resolve_check_name(bad[i], err, sizeof err) == VKB_EINVAL && err[0],
              "bad name #%zu refused with a message", i);
    }
    CHECK(resolve_check_name(NULL, err, sizeof err) == VKB_EINVAL, "NULL refused");
    CHECK(resolve_check_name(long_part, err, sizeof err) == VKB_EINVAL, "97-char part refused");
    CHECK(resolve_check_name(long_name, err, sizeof err) == VKB_EINVAL, "220-char refused");
    /* Bad names never reach the file system, whatever exists there. */
    char out[PATH_MAX];
    make_model("models/ok");
    CHECK(resolve("models", "../models/ok", out) == VKB_EINVAL, "../ through resolve: EINVAL");
    CHECK(resolve("models", "/etc", out) == VKB_EINVAL, "absolute path: EINVAL");
}

static void test_cache_dir_order(void)
{
    char out[PATH_MAX];
    setenv("HF_HUB_CACHE", "/x/hubcache", 1);
    setenv("HF_HOME", "/x/hfhome", 1);
    setenv("XDG_CACHE_HOME", "/x/xdg", 1);
    setenv("HOME", "/x/home", 1);
    CHECK(resolve_hub_cache(out, sizeof out) == 0 && !strcmp(out, "/x/hubcache"), "HF_HUB_CACHE");
    unsetenv("HF_HUB_CACHE");
    CHECK(resolve_hub_cache(out, sizeof out) == 0 && !strcmp(out, "/x/hfhome/hub"), "HF_HOME");
    unsetenv("HF_HOME");
    CHECK(resolve_hub_cache(out, sizeof out) == 0 && !strcmp(out, "/x/xdg/huggingface/hub"),
          "XDG_CACHE_HOME");
    unsetenv("XDG_CACHE_HOME");
    CHECK(resolve_hub_cache(out, sizeof out) == 0 &&
              !strcmp(out, "/x/home/.cache/huggingface/hub"),
          "HOME");
    unsetenv("HOME");
    CHECK(resolve_hub_cache(out, sizeof out) == VKB_ENOTFOUND, "no variable at all");
    CHECK(resolve_cache_folder_name("org/name", out, sizeof out) == 0 &&
              !strcmp(out, "models--org--name"),
          "models--org--name");
    CHECK(resolve_cache_folder_name("bert-base-uncased", out, sizeof out) == 0 &&
              !strcmp(out, "models--bert-base-uncased"),
          "models--bert-base-uncased");
}

static void test_model_dir(void)
{
    char out[PATH_MAX], expect[PATH_MAX];
    make_model("models/m1");
    make_model("models/org/m2");
    make_model("models/sentence-transformers/short");
    write_file("models/plainfile", "x");
    strcpy(expect, abs_path("models/m1"));
    CHECK(resolve("models", "m1", out) == VKB_OK && !strcmp(out, expect), "model_dir/m1: %s", out);
    strcpy(expect, abs_path("models/org/m2"));
    CHECK(resolve("models", "org/m2", out) == VKB_OK && !strcmp(out, expect), "model_dir/org/m2");
    strcpy(expect, abs_path("models/sentence-transformers/short"));
    CHECK(resolve("models", "short", out) == VKB_OK && !strcmp(out, expect),
          "short name -> sentence-transformers/short");
    CHECK(resolve("models", "plainfile", out) == VKB_ENOTFOUND, "a file is not a model");
    CHECK(resolve("models", "absent", out) == VKB_ENOTFOUND, "absent: ENOTFOUND");
    CHECK(resolve("no-such-root", "m1", out) == VKB_ENOTFOUND, "missing model_dir skipped");
    CHECK(resolve(NULL, "m1", out) == VKB_ENOTFOUND, "no model_dir, empty cache");

    /* Symlinks that stay inside the root are fine; ones that leave it are escapes. */
    symlink_rel("m1", "models/alias");
    strcpy(expect, abs_path("models/m1"));
    CHECK(resolve("models", "alias", out) == VKB_OK && !strcmp(out, expect), "inside symlink ok");
    make_model("outside/secret");
    symlink_rel("../outside/secret", "models/evil");
    CHECK(resolve("models", "evil", out) == VKB_EINVAL, "symlink out of model_dir: EINVAL");
    char abs_secret[PATH_MAX];
    strcpy(abs_secret, abs_path("outside/secret"));
    symlink_rel(abs_secret, "models/evil2");
    CHECK(resolve("models", "evil2", out) == VKB_EINVAL, "absolute symlink out: EINVAL");
    symlink_rel("../outside", "models/evilorg");
    CHECK(resolve("models", "evilorg/secret", out) == VKB_EINVAL, "org symlink out: EINVAL");
    symlink_rel(".", "models/self");
    CHECK(resolve("models", "self", out) != VKB_OK, "the root itself is not a model");
}

static void test_hub(void)
{
    char out[PATH_MAX], expect[PATH_MAX], hub[PATH_MAX];
    snprintf(hub, sizeof hub, "%s/hub", tmp);
    setenv("HF_HUB_CACHE", hub, 1);

    /* refs/main names the snapshot; the files are symlinks into ../../blobs. */
    mkdirs("hub/models--org--a/blobs");
    mkdirs("hub/models--org--a/refs");
    mkdirs("hub/models--org--a/snapshots/1111");
    mkdirs("hub/models--org--a/snapshots/2222");
    write_file("hub/models--org--a/blobs/abcd", "{}");
    symlink_rel("../../blobs/abcd", "hub/models--org--a/snapshots/1111/config.json");
    write_file("hub/models--org--a/refs/main", "1111\n");
    set_mtime("hub/models--org--a/snapshots/1111", 1000);
    set_mtime("hub/models--org--a/snapshots/2222", 2000);
    strcpy(expect, abs_path("hub/models--org--a/snapshots/1111"));
    CHECK(resolve(NULL, "org/a", out) == VKB_OK && !strcmp(out, expect), "refs/main: %s", out);

    /* model_dir comes first. */
    make_model("models/org/a");
    strcpy(expect, abs_path("models/org/a"));
    CHECK(resolve("models", "org/a", out) == VKB_OK && !strcmp(out, expect), "model_dir first");

    /* No refs/main, a missing ref, or a garbled one: the newest snapshot. */
    write_file("hub/models--org--a/refs/main", "9999");
    strcpy(expect, abs_path("hub/models--org--a/snapshots/2222"));
    CHECK(resolve(NULL, "org/a", out) == VKB_OK && !strcmp(out, expect), "dangling ref: newest");
    make_model("outside/snap");
    write_file("hub/models--org--a/refs/main", "../../../../outside/snap");
    CHECK(resolve(NULL, "org/a", out) == VKB_OK && !strcmp(out, expect),
          "garbled ref not followed: %s", out);
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s/hub/models--org--a/refs/main", tmp);
    unlink(p);
    CHECK(resolve(NULL, "org/a", out) == VKB_OK && !strcmp(out, expect), "no ref: newest");
    /* refs/main as a symlink to a file outside holding a valid name: not read. */
    write_file("outside/ref", "1111");
    symlink_rel("../../../outside/ref", "hub/models--org--a/refs/main");
    CHECK(resolve(NULL, "org/a", out) == VKB_OK && !strcmp(out, expect),
          "ref symlinked outside is ignored");

    /* Short names map to sentence-transformers/. */
    mkdirs("hub/models--sentence-transformers--all-MiniLM-L6-v2/snapshots/abc");
    strcpy(expect, abs_path("hub/models--sentence-transformers--all-MiniLM-L6-v2/snapshots/abc"));
    CHECK(resolve(NULL, "all-MiniLM-L6-v2", out) == VKB_OK && !strcmp(out, expect),
          "all-MiniLM-L6-v2 -> sentence-transformers/");
    /* A name without org stored as models--NAME. */
    mkdirs("hub/models--roberta-large/snapshots/r1");
    strcpy(expect, abs_path("hub/models--roberta-large/snapshots/r1"));
    CHECK(resolve(NULL, "roberta-large", out) == VKB_OK && !strcmp(out, expect), "models--NAME");

    /* Escapes out of the cache. */
    mkdirs("hub/models--org--b/snapshots");
    mkdirs("hub/models--org--b/refs");
    symlink_rel("../../../outside/snap", "hub/models--org--b/snapshots/5555");
    write_file("hub/models--org--b/refs/main", "5555");
    CHECK(resolve(NULL, "org/b", out) == VKB_EINVAL, "snapshot symlinked outside: EINVAL");
    symlink_rel("../outside", "hub/models--org--c");
    mkdirs("outside/snapshots/x");
    CHECK(resolve(NULL, "org/c", out) == VKB_EINVAL, "repo folder symlinked outside: EINVAL");
    mkdirs("hub/models--org--empty/snapshots");
    CHECK(resolve(NULL, "org/empty", out) == VKB_ENOTFOUND, "no snapshot: ENOTFOUND");
    char err[512] = "";
    CHECK(resolve_model(NULL, "org/zzz", out, sizeof out, err, sizeof err) == VKB_ENOTFOUND &&
              strstr(err, "vkbridge pull org/zzz"),
          "not-found message says how to pull: %s", err);
}

int main(void)
{
    vkb_log_set_level(VKB_LOG_ERROR);
    snprintf(tmp, sizeof tmp, "/tmp/vkb-resolve-XXXXXX");
    if (!mkdtemp(tmp)) {
        CHECK(0, "mkdtemp");
        return tl_finish();
    }
    test_names();
    test_cache_dir_order();
    test_model_dir();
    test_hub();
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    CHECK(system(cmd) == 0, "cleanup");
    return tl_finish();
}
