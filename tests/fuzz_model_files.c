/*
 * fuzz_model_files.c — libFuzzer target for the model-folder loaders (build: CC=clang,
 * -DVKB_FUZZ=ON): config.json (with the sentence-transformers files), the safetensors header
 * and tokenizer.json, each read from a scratch folder the way a model load reads them.
 *
 * Input: byte 0 picks the file, the rest is its content, any bytes. Checks, besides
 * ASan/UBSan: config.json either loads with sizes inside their bounds or is refused with a
 * message; a safetensors file either opens and every tensor reads (first and last element)
 * or is refused; a tokenizer.json either loads and encodes a short text or is refused. No
 * message may quote more than a short excerpt of the input.
 */
#include "model_internal.h"
#include "safetensors.h"
#include "vkb_runtime.h"
#include "vkb_tokenizer.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[64];

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_model_files: invariant broken: %s\n", what);
        abort();
    }
}

static void write_file(const char *name, const uint8_t *data, size_t size)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f))
        abort();
}

static void remove_dir(void)
{
    static const char *const names[] = {"config.json", "model.safetensors", "tokenizer.json"};
    char path[300];
    for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* every input is written to a file: in memory (/dev/shm) where there is one */
    snprintf(dir, sizeof(dir), "/dev/shm/vkb_fuzz_model_XXXXXX");
    if (!mkdtemp(dir)) {
        snprintf(dir, sizeof(dir), "/tmp/vkb_fuzz_model_XXXXXX");
        if (!mkdtemp(dir))
            abort();
    }
    atexit(remove_dir);
    vkb_log_set_level(VKB_LOG_ERROR);
    return 0;
}

static void fuzz_config(const uint8_t *data, size_t size)
{
    write_file("config.json", data, size);
    model_config cfg;
    char err[512] = "";
    if (model_config_load(dir, &cfg, err, sizeof(err)) == VKB_OK) {
        check(cfg.layers >= 1 && cfg.hidden >= 1 && cfg.heads >= 1 && cfg.vocab >= 1,
              "a loaded config has positive sizes");
        check(cfg.hidden % cfg.heads == 0, "hidden divides into heads");
    } else {
        check(err[0] != 0, "a refused config says why");
    }
}

static void fuzz_safetensors(const uint8_t *data, size_t size)
{
    write_file("model.safetensors", data, size);
    char path[300], err[512] = "";
    snprintf(path, sizeof(path), "%s/model.safetensors", dir);
    st_archive *a = NULL;
    if (st_open_file(path, &a, err, sizeof(err)) == VKB_OK) {
        for (int i = 0; i < st_count(a); i++) {
            const st_tensor *t = st_at(a, i);
            check(st_find(a, t->name) != NULL, "every tensor is found by name");
            if (t->count == 0 || t->dtype == ST_OTHER)
                continue;
            float f;
            uint16_t h;
            check(st_read_f32(t, 0, 1, &f) == VKB_OK, "the first element reads");
            check(st_read_f16(t, t->count - 1, 1, &h, NULL) == VKB_OK, "the last element reads");
        }
        st_close(a);
    } else {
        check(err[0] != 0 && a == NULL, "a refused file says why");
    }
}

static void fuzz_tokenizer(const uint8_t *data, size_t size)
{
    write_file("tokenizer.json", data, size);
    char path[300], err[384] = "";
    snprintf(path, sizeof(path), "%s/tokenizer.json", dir);
    vkb_tokenizer *t = NULL;
    if (vkb_tokenizer_load(path, NULL, &t, err, sizeof(err)) == 0) {
        static const char text[] = "Hello, w\xc3\xb6rld! \xe4\xb8\xad 12 [CLS] <s>";
        vkb_encoding e;
        memset(&e, 0, sizeof(e));
        if (vkb_tokenizer_encode(t, text, sizeof(text) - 1, 1, 32, &e) == 0)
            vkb_encoding_free(&e);
        vkb_tokenizer_free(t);
    } else {
        check(err[0] != 0, "a refused tokenizer.json says why");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    switch (data[0] % 3) {
    case 0: fuzz_config(data + 1, size - 1); break;
    case 1: fuzz_safetensors(data + 1, size - 1); break;
    default: fuzz_tokenizer(data + 1, size - 1); break;
    }
    return 0;
}
