/*
 * hub.h — internal: downloading a model folder from the Hugging Face hub into its cache
 * (`vkbridge pull NAME`, `serve --pull`).
 *
 * What is fetched: the files an encoder needs (config.json, model.safetensors or the sharded
 * index and its shards, the tokenizer files, the sentence-transformers files), listed by
 *   GET {endpoint}/api/models/{repo}/revision/main         -> "sha", "siblings"[].rfilename
 * and downloaded from {endpoint}/{repo}/resolve/{sha}/{file} into huggingface_hub's layout:
 *   <cache>/models--ORG--NAME/blobs/<etag>                  the bytes, named by their hash
 *   <cache>/models--ORG--NAME/snapshots/<sha>/<file>        -> ../../blobs/<etag> (symlink)
 *   <cache>/models--ORG--NAME/refs/main                     <sha>, written last
 * so Python tools and vkbridge share one cache. On Windows a snapshot file is a copy of its
 * blob instead of a symlink (huggingface_hub's way there without developer mode). A download goes to blobs/<etag>.incomplete
 * first and resumes from there (Range) after a broken transfer, in this run or the next.
 * Files whose ETag is a sha256 (LFS) are checked against it; small files whose ETag is a git
 * blob id are checked against that. A mismatch removes the partial file and fails.
 * A name without '/' that the hub does not know is tried as sentence-transformers/NAME.
 */
#ifndef VKB_HUB_H
#define VKB_HUB_H

#include <stddef.h>

typedef struct hub_opts {
    const char *endpoint;  /* NULL: $HF_ENDPOINT, else https://huggingface.co */
    const char *token;     /* NULL: $HF_TOKEN, sent as "Authorization: Bearer" */
    const char *cache_dir; /* NULL: resolve_hub_cache() */
    int progress;          /* 1: a progress bar per file on stderr (pass isatty(2)) */
} hub_opts;

/* Pulls `name` (checked like any model name) and writes the snapshot folder's canonical path
 * into dir. VKB_EINVAL: bad name; VKB_ENOTFOUND: the hub has no such repository (or needs a
 * token); VKB_EUNSUPPORTED: the repository lacks safetensors weights, config or tokenizer;
 * VKB_EIO: network, disk or checksum failure. err gets one line. opts may be NULL. */
int hub_pull(const char *name, const hub_opts *opts, char *dir, size_t dirlen, char *err,
             size_t errlen);

#endif
