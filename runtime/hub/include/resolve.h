/*
 * resolve.h — internal: model names to folders under the model roots, and nothing else.
 *
 * A name comes from the outside world (a request body, MODEL_EMBED) and must never reach
 * the file system as a path. The roots are, in order:
 *   1. model_dir/<name>                                  (VKB_MODEL_DIR, may be NULL)
 *   2. <hub>/models--ORG--NAME/snapshots/<rev>/           (the Hugging Face cache)
 * where <rev> is the commit in refs/main, else the only (or newest) snapshot. A name without
 * '/' that is found under neither is tried again as sentence-transformers/<name>, the way
 * sentence-transformers maps the short names people type (all-MiniLM-L6-v2).
 * The folder found is realpath()'d and must lie inside its root's realpath: a symlink that
 * leads elsewhere is an escape and refused. (Files inside an HF snapshot are symlinks into
 * ../../blobs; those are the cache's own layout and model_load follows them.)
 */
#ifndef VKB_RESOLVE_H
#define VKB_RESOLVE_H

#include <stddef.h>

/* Longest accepted name, and longest part on either side of the '/' (the hub's own limit). */
enum { RESOLVE_NAME_MAX = 200, RESOLVE_PART_MAX = 96 };

/* VKB_OK if name is a well-formed model name: 1..RESOLVE_NAME_MAX characters from
 * [A-Za-z0-9._-] with at most one '/', each part non-empty, at most RESOLVE_PART_MAX long,
 * not starting with '.' or '-', not ending with '.'; no ".." and no "--" anywhere ("--" is
 * the cache's separator, so it would make two names share one folder). Else VKB_EINVAL with
 * a line saying what is wrong. */
int resolve_check_name(const char *name, char *err, size_t errlen);

/* The Hugging Face hub cache folder: $HF_HUB_CACHE, else $HF_HOME/hub, else
 * $XDG_CACHE_HOME/huggingface/hub, else $HOME/.cache/huggingface/hub (huggingface_hub's
 * order). VKB_ENOTFOUND when none of these variables is set. */
int resolve_hub_cache(char *out, size_t outlen);

/* "models--ORG--NAME" for "ORG/NAME", "models--NAME" for "NAME" (name already checked). */
int resolve_cache_folder_name(const char *name, char *out, size_t outlen);

/* Resolves name (see the top of this file) into out, an absolute canonical path.
 * VKB_EINVAL: bad name or an escape; VKB_ENOTFOUND: under no root (err lists where it was
 * looked for). */
int resolve_model(const char *model_dir, const char *name, char *out, size_t outlen, char *err,
                  size_t errlen);

/* Whether every symlink in the model folder dir (and in its direct subfolders, such as
 * 1_Pooling) leads inside the folder's parent (the model root, or ORG under it), or, for a
 * Hugging Face snapshot (.../models--ORG--NAME/snapshots/REV), inside its repository folder
 * (where the blobs the snapshot links to live). VKB_OK, or VKB_EINVAL naming the entry (never what it points to or
 * holds). Loaders run this before they open anything in the folder, so no file a request can
 * make them read lies outside the model roots. */
int resolve_check_folder(const char *dir, char *err, size_t errlen);

#endif
