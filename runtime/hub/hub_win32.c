/*
 * hub_win32.c — hub_pull in the Windows build, which has no pull yet: hub.c's cache layout
 * rests on symlinks (snapshots -> blobs) that Windows grants only in developer mode, and its
 * transfers on libcurl (a WinHTTP client is the plan: docs/WINDOWS.md). Models are used from
 * folders instead (VKB_MODEL_DIR, or a Hugging Face cache copied from another machine), which
 * resolve.c reads the same way as on Linux.
 */
#include "hub.h"
#include "vkb_runtime.h"

int hub_pull(const char *name, const hub_opts *opts, char *dir, size_t dirlen, char *err,
             size_t errlen)
{
    (void)opts;
    (void)dir;
    (void)dirlen;
    vkb_set_err(err, errlen,
                "cannot pull '%s': the Windows build has no `vkbridge pull` yet; copy the model "
                "folder here and name it by path or under VKB_MODEL_DIR (docs/WINDOWS.md)",
                name);
    return VKB_EUNSUPPORTED;
}
