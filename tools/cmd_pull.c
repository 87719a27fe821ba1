/*
 * cmd_pull.c — `vkbridge pull NAME`: downloads a model folder from the Hugging Face hub into
 * the hub cache (runtime/hub/hub.c does the work) and prints the snapshot folder.
 */
#include "commands.h"
#include "hub.h"
#include "vkb_runtime.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: vkbridge pull NAME [--endpoint URL] [--cache DIR] [--quiet]\n\n"
            "Downloads the files an encoder needs (config, safetensors weights, tokenizer,\n"
            "sentence-transformers files) of the hub repository NAME into the Hugging Face\n"
            "cache, resuming interrupted downloads and checking sha256 sums, then prints the\n"
            "snapshot folder. A NAME without '/' that the hub does not know is tried as\n"
            "sentence-transformers/NAME (all-MiniLM-L6-v2).\n\n"
            "  --endpoint URL  hub address (default $HF_ENDPOINT, else https://huggingface.co)\n"
            "  --cache DIR     cache folder (default $HF_HUB_CACHE, $HF_HOME/hub,\n"
            "                  ~/.cache/huggingface/hub)\n"
            "  --quiet         no progress bars or log lines\n\n"
            "Environment: HF_ENDPOINT, HF_TOKEN (sent as a Bearer token), HF_HUB_CACHE, HF_HOME.\n");
}

int cmd_pull(int argc, char **argv)
{
    const char *name = NULL;
    hub_opts opts = {0};
    int quiet = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
            quiet = 1;
        } else if ((!strcmp(a, "--endpoint") || !strcmp(a, "--cache")) && i + 1 < argc) {
            if (!strcmp(a, "--endpoint"))
                opts.endpoint = argv[++i];
            else
                opts.cache_dir = argv[++i];
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "vkbridge pull: unknown or incomplete option '%s'\n", a);
            usage(stderr);
            return 2;
        } else if (name) {
            fprintf(stderr, "vkbridge pull: one NAME at a time ('%s' and '%s')\n", name, a);
            return 2;
        } else {
            name = a;
        }
    }
    if (!name) {
        usage(stderr);
        return 2;
    }
    if (quiet)
        vkb_log_set_level(VKB_LOG_ERROR);
    opts.progress = !quiet && isatty(STDERR_FILENO);
    char dir[PATH_MAX], err[1024] = "";
    int rc = hub_pull(name, &opts, dir, sizeof dir, err, sizeof err);
    if (rc != VKB_OK) {
        fprintf(stderr, "vkbridge pull: %s\n", err[0] ? err : vkb_status_str(rc));
        return rc == VKB_EINVAL ? 2 : 1;
    }
    printf("%s\n", dir);
    return 0;
}
