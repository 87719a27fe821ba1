/*
 * vk_loader.c — opens the Vulkan loader at run time and owns the process-wide VkInstance.
 *
 * Why one shared instance: every backend (one per opened device, possibly two on the same
 * device) needs an instance, and the validation messenger's count must cover all of them.
 * The loader library and the instance, once created, stay for the life of the process
 * (see vk_instance_get for why).
 */
#include "vk_loader.h"
#include "backend.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#include <windows.h>
#else
#include <dlfcn.h>
#include <link.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#endif

static pthread_mutex_t instance_lock = PTHREAD_MUTEX_INITIALIZER;
static void *loader_lib;                 /* never closed, see above */
static PFN_vkGetInstanceProcAddr get_instance_proc;
static vk_instance shared;               /* valid once created */
static VkDebugUtilsMessengerEXT messenger;
static atomic_int validation_count;
static atomic_int sync_hazard_count;   /* of which SYNC-HAZARD-* (synchronization validation) */

int vk_validation_messages(void) { return atomic_load(&validation_count); }
int vkb_vulkan_validation_errors(void) { return vk_validation_messages(); }
int vkb_vulkan_sync_hazards(void) { return atomic_load(&sync_hazard_count); }
int vkb_vulkan_sync_validation(void) { return shared.instance && shared.sync_validation; }

static VKAPI_ATTR VkBool32 VKAPI_CALL on_validation_message(
    VkDebugUtilsMessageSeverityFlagBitsEXT severity, VkDebugUtilsMessageTypeFlagsEXT types,
    const VkDebugUtilsMessengerCallbackDataEXT *data, void *user)
{
    (void)types;
    (void)user;
    const char *msg = data && data->pMessage ? data->pMessage : "(no message)";
    if (severity & (VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT |
                    VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT)) {
        atomic_fetch_add(&validation_count, 1);
        if (data && data->pMessageIdName && !strncmp(data->pMessageIdName, "SYNC-", 5))
            atomic_fetch_add(&sync_hazard_count, 1);
        vkb_log(VKB_LOG_ERROR, "vulkan validation: %s", msg);
    } else {
        vkb_log(VKB_LOG_DEBUG, "vulkan: %s", msg);
    }
    return VK_FALSE;
}

#define MESA_CACHE_MIN_FREE (64ull << 20)

int vkb_vulkan_guard_disk_cache(char *why, size_t whylen)
{
#ifdef _WIN32
    (void)why;
    (void)whylen;
    return 0;
#else
    const char *off = getenv("MESA_SHADER_CACHE_DISABLE");
    if (off && *off)
        return 0; /* the user decided */
    /* the folder Mesa 22 uses: MESA_SHADER_CACHE_DIR (or the older MESA_GLSL_CACHE_DIR),
     * else $XDG_CACHE_HOME, else $HOME/.cache; "mesa_shader_cache" inside it */
    char dir[4096];
    const char *base = getenv("MESA_SHADER_CACHE_DIR");
    if (!base || !*base)
        base = getenv("MESA_GLSL_CACHE_DIR");
    if (base && *base)
        snprintf(dir, sizeof dir, "%s/mesa_shader_cache", base);
    else if ((base = getenv("XDG_CACHE_HOME")) && *base)
        snprintf(dir, sizeof dir, "%s/mesa_shader_cache", base);
    else if ((base = getenv("HOME")) && *base)
        snprintf(dir, sizeof dir, "%s/.cache/mesa_shader_cache", base);
    else
        return 0; /* Mesa falls back to the password database's home: not guessed here */
    /* the nearest folder that exists is where Mesa's files will land */
    struct stat st;
    while (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        char *slash = strrchr(dir, '/');
        if (!slash || slash == dir) {
            snprintf(dir, sizeof dir, "/");
            break;
        }
        *slash = 0;
    }
    struct statvfs fs;
    const char *reason = NULL;
    char text[256];
    if (access(dir, W_OK) != 0) {
        reason = "is not writable";
    } else if (statvfs(dir, &fs) == 0 &&
               (unsigned long long)fs.f_bavail * fs.f_frsize < MESA_CACHE_MIN_FREE) {
        snprintf(text, sizeof text, "has %llu kB free",
                 (unsigned long long)fs.f_bavail * fs.f_frsize / 1024);
        reason = text;
    }
    if (!reason)
        return 0;
    setenv("MESA_SHADER_CACHE_DISABLE", "true", 1);
    setenv("MESA_GLSL_CACHE_DISABLE", "true", 1); /* the name before Mesa 22 */
    if (why && whylen)
        snprintf(why, whylen, "%s %s", dir, reason);
    return 1;
#endif
}

/* Opens the loader library once; 0 on success. VKB_VULKAN_LOADER names another library
 * (a loader in a non-standard place, or a driver's own loader). */
static int open_loader(char *err, size_t errlen)
{
    if (get_instance_proc)
        return 0;
    const char *name = getenv("VKB_VULKAN_LOADER");
#ifdef _WIN32
    if (!name || !*name)
        name = "vulkan-1.dll";
    HMODULE lib = LoadLibraryA(name);
    if (!lib) {
        vkb_set_err(err, errlen, "no Vulkan loader (%s not found)", name);
        return -1;
    }
    get_instance_proc = (PFN_vkGetInstanceProcAddr)(void *)GetProcAddress(lib, "vkGetInstanceProcAddr");
#else
    if (!name || !*name)
        name = "libvulkan.so.1";
    void *lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        vkb_set_err(err, errlen, "no Vulkan loader (%s)", dlerror());
        return -1;
    }
    /* POSIX allows converting dlsym's void * to a function pointer; memcpy keeps
     * -Wpedantic quiet about it. */
    void *sym = dlsym(lib, "vkGetInstanceProcAddr");
    memcpy(&get_instance_proc, &sym, sizeof sym);
#endif
    if (!get_instance_proc) {
        vkb_set_err(err, errlen, "%s is not a Vulkan loader (no vkGetInstanceProcAddr)", name);
        return -1;
    }
    loader_lib = (void *)lib;
    return 0;
}

static int has_layer(const char *name)
{
    PFN_vkEnumerateInstanceLayerProperties enum_layers =
        (PFN_vkEnumerateInstanceLayerProperties)get_instance_proc(
            NULL, "vkEnumerateInstanceLayerProperties");
    uint32_t n = 0;
    if (!enum_layers || enum_layers(&n, NULL) != VK_SUCCESS || n == 0)
        return 0;
    VkLayerProperties *props = calloc(n, sizeof *props);
    int found = 0;
    if (props && enum_layers(&n, props) == VK_SUCCESS)
        for (uint32_t i = 0; i < n && !found; i++)
            found = !strcmp(props[i].layerName, name);
    free(props);
    return found;
}

/* 1 if the loader and implicit layers (layer NULL) or the named layer offer extension name. */
static int has_layer_extension(const char *layer, const char *name)
{
    PFN_vkEnumerateInstanceExtensionProperties enum_ext =
        (PFN_vkEnumerateInstanceExtensionProperties)get_instance_proc(
            NULL, "vkEnumerateInstanceExtensionProperties");
    uint32_t n = 0;
    if (!enum_ext || enum_ext(layer, &n, NULL) != VK_SUCCESS || n == 0)
        return 0;
    VkExtensionProperties *props = calloc(n, sizeof *props);
    int found = 0;
    if (props && enum_ext(layer, &n, props) == VK_SUCCESS)
        for (uint32_t i = 0; i < n && !found; i++)
            found = !strcmp(props[i].extensionName, name);
    free(props);
    return found;
}

static int has_instance_extension(const char *name) { return has_layer_extension(NULL, name); }

/* The loader's instance version (1.0 loaders lack vkEnumerateInstanceVersion). */
static uint32_t loader_api_version(void)
{
    PFN_vkEnumerateInstanceVersion enum_version =
        (PFN_vkEnumerateInstanceVersion)get_instance_proc(NULL, "vkEnumerateInstanceVersion");
    uint32_t v = VK_API_VERSION_1_0;
    if (enum_version && enum_version(&v) != VK_SUCCESS)
        v = VK_API_VERSION_1_0;
    return v;
}

static void attach_messenger(void)
{
    PFN_vkCreateDebugUtilsMessengerEXT create = (PFN_vkCreateDebugUtilsMessengerEXT)
        get_instance_proc(shared.instance, "vkCreateDebugUtilsMessengerEXT");
    VkDebugUtilsMessengerCreateInfoEXT ci = {
        .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
        .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                           VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
        .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                       VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
        .pfnUserCallback = on_validation_message,
    };
    if (!create ||
        create(shared.instance, &ci, NULL, &messenger) != VK_SUCCESS) {
        vkb_log(VKB_LOG_WARN, "vulkan: validation layer on, but no debug messenger");
        messenger = VK_NULL_HANDLE;
    }
}

#define VK_VALIDATION_LAYER "VK_LAYER_KHRONOS_validation"

/* What the validation layer checks beyond its core checks. Synchronization validation (every
 * read-after-write, write-after-read and write-after-write between recorded commands without a
 * barrier ordering them) is what proves the batch's barrier tracking on a device that would
 * forgive a missing one (lavapipe runs dispatches one after another). VKB_VALIDATION=gpu adds
 * GPU-assisted validation (out-of-bounds descriptor accesses, instrumented shaders): it needs
 * the device's vertexPipelineStoresAndAtomics/fragmentStoresAndAtomics features, reserves a
 * descriptor set and is slow, hence a switch of its own. Both need VK_EXT_validation_features
 * (the layer offers it since 1.2.131; Debian bookworm ships 1.3.239). */
static void validation_features(const char *env, VkValidationFeaturesEXT *features,
                                VkValidationFeatureEnableEXT *enables, const char **exts,
                                uint32_t *n_exts)
{
    if (!has_layer_extension(VK_VALIDATION_LAYER, VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME)) {
        vkb_log(VKB_LOG_WARN, "vulkan: validation layer on, without "
                              "VK_EXT_validation_features: no synchronization validation");
        return;
    }
    int gpu = !strcmp(env, "gpu");
    uint32_t n = 0;
    enables[n++] = VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT;
    if (gpu)
        enables[n++] = VK_VALIDATION_FEATURE_ENABLE_GPU_ASSISTED_EXT;
    exts[(*n_exts)++] = VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME;
    features->enabledValidationFeatureCount = n;
    features->pEnabledValidationFeatures = enables;
    shared.sync_validation = 1;
    vkb_log(VKB_LOG_INFO, "vulkan: validation layer on: core checks, synchronization "
                          "validation on, GPU-assisted validation %s",
            gpu ? "on" : "off (VKB_VALIDATION=gpu turns it on)");
}

/* One line per validated process, so a CI log shows what was checked and what was found. */
static void validation_summary(void)
{
    vkb_log(VKB_LOG_INFO, "vulkan: validation summary: %d messages, %d synchronization hazards "
                          "(synchronization validation %s)",
            atomic_load(&validation_count), atomic_load(&sync_hazard_count),
            shared.sync_validation ? "on" : "off");
}

static int create_instance(char *err, size_t errlen)
{
    uint32_t version = loader_api_version();
    if (version < VK_API_VERSION_1_1) {
        vkb_set_err(err, errlen, "the Vulkan loader is 1.0 (vkbridge needs 1.1 or newer)");
        return -1;
    }
    /* Ask for what the loader offers up to 1.3: devices then report their own version. */
    shared.api_version = version > VK_API_VERSION_1_3 ? VK_API_VERSION_1_3 : version;
    const char *env = getenv("VKB_VALIDATION");
    int want_validation = env && (!strcmp(env, "1") || !strcmp(env, "gpu"));
    const char *layers[1];
    const char *exts[3];
    uint32_t n_layers = 0, n_exts = 0;
    VkValidationFeaturesEXT features = {.sType = VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT};
    VkValidationFeatureEnableEXT enables[2];
    if (want_validation && has_layer(VK_VALIDATION_LAYER) &&
        has_instance_extension(VK_EXT_DEBUG_UTILS_EXTENSION_NAME)) {
        layers[n_layers++] = VK_VALIDATION_LAYER;
        exts[n_exts++] = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
        validation_features(env, &features, enables, exts, &n_exts);
    } else if (want_validation) {
        vkb_log(VKB_LOG_INFO, "VKB_VALIDATION=%s but %s is not installed", env,
                VK_VALIDATION_LAYER);
    }
    VkInstanceCreateFlags flags = 0;
    /* Lets portability drivers (MoltenVK) be listed. */
    if (has_instance_extension("VK_KHR_portability_enumeration")) {
        exts[n_exts++] = "VK_KHR_portability_enumeration";
        flags |= 0x00000001; /* VK_INSTANCE_CREATE_ENUMERATE_PORTABILITY_BIT_KHR */
    }
    VkApplicationInfo app = {
        .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
        .pApplicationName = "vkbridge",
        .pEngineName = "vkbridge",
        .apiVersion = shared.api_version,
    };
    VkInstanceCreateInfo ci = {
        .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
        .pNext = features.enabledValidationFeatureCount ? &features : NULL,
        .flags = flags,
        .pApplicationInfo = &app,
        .enabledLayerCount = n_layers,
        .ppEnabledLayerNames = layers,
        .enabledExtensionCount = n_exts,
        .ppEnabledExtensionNames = exts,
    };
    PFN_vkCreateInstance create =
        (PFN_vkCreateInstance)get_instance_proc(NULL, "vkCreateInstance");
    VkResult r = create ? create(&ci, NULL, &shared.instance) : VK_ERROR_INITIALIZATION_FAILED;
    if (r == VK_ERROR_INCOMPATIBLE_DRIVER) {
        vkb_set_err(err, errlen, "no Vulkan driver installed (the loader found no ICD)");
        return -1;
    }
    if (r != VK_SUCCESS) {
        vkb_set_err(err, errlen, "vkCreateInstance failed: %s", vk_result_str(r));
        return -1;
    }
    shared.validation = n_layers > 0;
    int missing = 0;
#define VK_LOAD_INSTANCE_FN(name)                                                              \
    shared.fn.name = (PFN_vk##name)get_instance_proc(shared.instance, "vk" #name);             \
    missing |= !shared.fn.name;
    VK_INSTANCE_FUNCS(VK_LOAD_INSTANCE_FN)
#undef VK_LOAD_INSTANCE_FN
    if (missing) {
        PFN_vkDestroyInstance destroy =
            (PFN_vkDestroyInstance)get_instance_proc(shared.instance, "vkDestroyInstance");
        if (destroy)
            destroy(shared.instance, NULL);
        memset(&shared, 0, sizeof shared);
        vkb_set_err(err, errlen, "the Vulkan loader lacks Vulkan 1.1 instance functions");
        return -1;
    }
    if (shared.validation) {
        attach_messenger();
        atexit(validation_summary);
    }
    return 0;
}

#if !defined(_WIN32) && defined(VKB_PIN_DRIVERS)
/* LeakSanitizer runs after the loader's destructors have unloaded the driver, so blocks the
 * driver keeps in its globals for the life of the process look unreachable and are reported
 * as leaks from "<unknown module>". Sanitizer builds pin every library loaded so far (the
 * driver and its LLVM included) with RTLD_NODELETE, so LSan still scans the driver's globals
 * at exit and reports only what is really lost. Release builds leave the loader alone. */
static int pin_one(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    (void)data;
    if (info->dlpi_name && info->dlpi_name[0])
        dlopen(info->dlpi_name, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
    return 0;
}
static void pin_loaded_drivers(void) { dl_iterate_phdr(pin_one, NULL); }
#else
static void pin_loaded_drivers(void) {}
#endif

/* The instance, once created, is kept for the life of the process: vkDestroyInstance makes
 * the loader unload the driver, whose static allocations (Mesa: LLVM, caches) are then
 * unreachable (LeakSanitizer reports them), and reloading would cost a driver init each time. */
const vk_instance *vk_instance_get(char *err, size_t errlen)
{
    const vk_instance *out = NULL;
    pthread_mutex_lock(&instance_lock);
    if (shared.instance) {
        out = &shared;
    } else if (open_loader(err, errlen) == 0 && create_instance(err, errlen) == 0) {
        pin_loaded_drivers();
        out = &shared;
    }
    pthread_mutex_unlock(&instance_lock);
    return out;
}

int vk_load_device_fns(const vk_instance *inst, VkDevice dev, vk_device_fns *fn)
{
    int missing = 0;
#define VK_LOAD_DEVICE_FN(name)                                                                \
    fn->name = (PFN_vk##name)inst->fn.GetDeviceProcAddr(dev, "vk" #name);                      \
    missing |= !fn->name;
    VK_DEVICE_FUNCS(VK_LOAD_DEVICE_FN)
#undef VK_LOAD_DEVICE_FN
    return missing ? -1 : 0;
}

static char loader_version_text[32];

static void fill_loader_version(void)
{
    pthread_mutex_lock(&instance_lock);
    if (open_loader(NULL, 0) == 0) {
        uint32_t v = loader_api_version();
        snprintf(loader_version_text, sizeof loader_version_text, "%u.%u.%u",
                 VK_API_VERSION_MAJOR(v), VK_API_VERSION_MINOR(v), VK_API_VERSION_PATCH(v));
    } else {
        strcpy(loader_version_text, "none");
    }
    pthread_mutex_unlock(&instance_lock);
}

const char *vkb_vulkan_loader_version(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, fill_loader_version);
    return loader_version_text;
}

const char *vk_result_str(VkResult r)
{
    switch (r) {
    case VK_SUCCESS: return "VK_SUCCESS";
    case VK_NOT_READY: return "VK_NOT_READY";
    case VK_TIMEOUT: return "VK_TIMEOUT";
    case VK_INCOMPLETE: return "VK_INCOMPLETE";
    case VK_ERROR_OUT_OF_HOST_MEMORY: return "VK_ERROR_OUT_OF_HOST_MEMORY";
    case VK_ERROR_OUT_OF_DEVICE_MEMORY: return "VK_ERROR_OUT_OF_DEVICE_MEMORY";
    case VK_ERROR_INITIALIZATION_FAILED: return "VK_ERROR_INITIALIZATION_FAILED";
    case VK_ERROR_DEVICE_LOST: return "VK_ERROR_DEVICE_LOST";
    case VK_ERROR_MEMORY_MAP_FAILED: return "VK_ERROR_MEMORY_MAP_FAILED";
    case VK_ERROR_LAYER_NOT_PRESENT: return "VK_ERROR_LAYER_NOT_PRESENT";
    case VK_ERROR_EXTENSION_NOT_PRESENT: return "VK_ERROR_EXTENSION_NOT_PRESENT";
    case VK_ERROR_FEATURE_NOT_PRESENT: return "VK_ERROR_FEATURE_NOT_PRESENT";
    case VK_ERROR_INCOMPATIBLE_DRIVER: return "VK_ERROR_INCOMPATIBLE_DRIVER";
    case VK_ERROR_TOO_MANY_OBJECTS: return "VK_ERROR_TOO_MANY_OBJECTS";
    case VK_ERROR_FORMAT_NOT_SUPPORTED: return "VK_ERROR_FORMAT_NOT_SUPPORTED";
    case VK_ERROR_FRAGMENTED_POOL: return "VK_ERROR_FRAGMENTED_POOL";
    case VK_ERROR_OUT_OF_POOL_MEMORY: return "VK_ERROR_OUT_OF_POOL_MEMORY";
    default: return "VK_ERROR_UNKNOWN";
    }
}
