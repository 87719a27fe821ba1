/*
 * test_vk_nodevice.c — without a Vulkan driver, or without the loader, the runtime says so in
 * one clear line and the CPU backend serves "auto"; `vulkan` fails cleanly. Also the device
 * preference order (discrete > integrated > virtual > cpu) on a made-up inventory.
 *
 * The Vulkan instance is process-wide, so each situation runs in a child process with the
 * environment set before its first Vulkan call.
 */
#include "testlib.h"
#include "vk_device.h"
#include "vkb_runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* In the child: what a process without a usable driver/loader sees. Exit code = failures. */
static int child_checks(const char *want_in_error, int loader_present)
{
    vkb_log_set_level(VKB_LOG_ERROR); /* keep the expected fallback warning out of the log */
    int bad = 0;
    vkb_device_info *devs = NULL;
    int n = -1;
    char err[256] = "";
    int rc = vkb_vulkan_devices(&devs, &n, err, sizeof err);
    if (rc != VKB_EDEVICE || n != 0 || devs || !strstr(err, want_in_error)) {
        printf("FAIL devices: rc %d n %d err '%s' (want '%s')\n", rc, n, err, want_in_error);
        bad++;
    }
    free(devs);
    const char *ver = vkb_vulkan_loader_version();
    if (loader_present ? !strcmp(ver, "none") : !!strcmp(ver, "none")) {
        printf("FAIL loader version '%s'\n", ver);
        bad++;
    }
    vkb_backend *b = NULL;
    rc = vkb_backend_open("auto", &b, err, sizeof err);
    if (rc != VKB_OK || !b || strcmp(vkb_backend_id(b), "cpu")) {
        printf("FAIL auto: rc %d id %s\n", rc, b ? vkb_backend_id(b) : "-");
        bad++;
    }
    vkb_backend_close(b);
    b = NULL;
    rc = vkb_backend_open("vulkan", &b, err, sizeof err);
    if (rc != VKB_EDEVICE || b || !err[0]) {
        printf("FAIL vulkan: rc %d err '%s'\n", rc, err);
        bad++;
    }
    return bad;
}

static void run_child(const char *what, const char *env, const char *value,
                      const char *want_in_error, int loader_present)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        setenv(env, value, 1);
        if (!strcmp(env, "VK_ICD_FILENAMES"))
            setenv("VK_DRIVER_FILES", value, 1); /* newer loaders' name for it */
        int bad = child_checks(want_in_error, loader_present);
        fflush(stdout);
        _exit(bad > 100 ? 100 : bad);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "%s: child status %d", what, status);
}

static void test_pick(void)
{
    vkb_device_info d[4];
    memset(d, 0, sizeof d);
    static const char *types[] = {"cpu", "virtual", "integrated", "discrete"};
    for (int i = 0; i < 4; i++) {
        snprintf(d[i].type, sizeof d[i].type, "%s", types[i]);
        d[i].api_version = VK_API_VERSION_1_3;
    }
    CHECK(vk_pick_device(d, 4) == 3, "discrete first: %d", vk_pick_device(d, 4));
    CHECK(vk_pick_device(d, 3) == 2, "then integrated: %d", vk_pick_device(d, 3));
    CHECK(vk_pick_device(d, 2) == 1, "then virtual: %d", vk_pick_device(d, 2));
    CHECK(vk_pick_device(d, 1) == 0, "then cpu: %d", vk_pick_device(d, 1));
    d[3].api_version = VK_API_VERSION_1_0; /* too old to run us */
    CHECK(vk_pick_device(d, 4) == 2, "1.0 device skipped: %d", vk_pick_device(d, 4));
    CHECK(vk_pick_device(d, 0) == -1, "no device");
}

int main(void)
{
    test_pick();
    run_child("no driver", "VK_ICD_FILENAMES", "/nonexistent/vkbridge-test-icd.json",
              "no Vulkan driver", 1);
    run_child("no loader", "VKB_VULKAN_LOADER", "/nonexistent/libvulkan.so.1",
              "no Vulkan loader", 0);
    return tl_finish();
}
