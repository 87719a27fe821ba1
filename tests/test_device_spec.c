/*
 * test_device_spec.c — the device-spec grammar (vkb_device_spec_parse), and proof that the
 * engine and `vkbridge serve` read specs alike: one table of specs goes through the service's
 * configuration and through vkb_engine_create, and both must accept or refuse each one, with
 * the same reason. A bad spec also keeps the real server from starting.
 */
#include "testlib.h"
#include "vkb_runtime.h"
#include "vkb_service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---------------------------------------------------------------- the grammar alone */

typedef struct good_spec {
    const char *spec;
    vkb_device_spec_kind kind;
    const char *items; /* LIST: the canonical items joined by ',' */
} good_spec;

static const good_spec good[] = {
    {"", VKB_SPEC_AUTO, ""},
    {"auto", VKB_SPEC_AUTO, ""},
    {"  auto\t", VKB_SPEC_AUTO, ""},
    {"all", VKB_SPEC_ALL, ""},
    {" all ", VKB_SPEC_ALL, ""},
    {"cpu", VKB_SPEC_LIST, "cpu"},
    {"vulkan", VKB_SPEC_LIST, "vulkan"},
    {"vulkan:0", VKB_SPEC_LIST, "vulkan:0"},
    {"vulkan:1023", VKB_SPEC_LIST, "vulkan:1023"},
    {"vulkan:007", VKB_SPEC_LIST, "vulkan:7"},
    {"vulkan:0,vulkan:1", VKB_SPEC_LIST, "vulkan:0,vulkan:1"},
    {"vulkan:0, vulkan:1", VKB_SPEC_LIST, "vulkan:0,vulkan:1"},
    {" vulkan:0 ,\tvulkan:1 ", VKB_SPEC_LIST, "vulkan:0,vulkan:1"},
    {"vulkan:0,vulkan:0", VKB_SPEC_LIST, "vulkan:0,vulkan:0"}, /* two replicas */
    {"cpu,cpu", VKB_SPEC_LIST, "cpu,cpu"},
    {"cpu, vulkan, vulkan:2", VKB_SPEC_LIST, "cpu,vulkan,vulkan:2"},
};

typedef struct bad_spec {
    const char *spec;
    const char *why; /* a piece of the one error line, naming the bad item */
} bad_spec;

static const bad_spec bad[] = {
    {" ", "item 1 is empty"},
    {",", "item 1 is empty"},
    {"cpu,", "item 2 is empty"},
    {"vulkan:0,,vulkan:1", "item 2 is empty"},
    {"vulkan:0, ,vulkan:1", "item 2 is empty"},
    {"vulkan:x", "bad device 'vulkan:x'"},
    {"vulkan:0, vulkan:x", "bad device 'vulkan:x'"},
    {"vulkan:", "bad device 'vulkan:'"},
    {"vulkan:-1", "bad device 'vulkan:-1'"},
    {"vulkan:+1", "bad device 'vulkan:+1'"},
    {"vulkan: 1", "bad device 'vulkan: 1'"},
    {"vulkan:1 2", "bad device 'vulkan:1 2'"},
    {"vulkan:1024", "bad device 'vulkan:1024'"},
    {"vulkan:99999999999999999999", "bad device 'vulkan:99999999999999999999'"},
    {"Vulkan:0", "bad device 'Vulkan:0'"},
    {"gpu", "bad device 'gpu'"},
    {"cpu;vulkan:0", "bad device 'cpu;vulkan:0'"},
    {"cuda:1", "bad device 'cuda:1'"}, /* the service maps cuda forms before the grammar */
    {"all,cpu", "'all' stands alone"},
    {"cpu, auto", "'auto' stands alone"},
    {"cpu,cpu,cpu,cpu,cpu,cpu,cpu,cpu,cpu,cpu,cpu,cpu,cpu,cpu,cpu,cpu,cpu",
     "more than 16 devices"},
};

static void joined_items(const vkb_device_spec *ds, char *out, size_t outlen)
{
    out[0] = 0;
    for (int i = 0; i < ds->n; i++) {
        size_t at = strlen(out);
        snprintf(out + at, outlen - at, "%s%s", i ? "," : "", ds->items[i]);
    }
}

static void test_grammar(void)
{
    char err[256], got[512];
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        vkb_device_spec ds;
        int rc = vkb_device_spec_parse(good[i].spec, &ds, err, sizeof err);
        joined_items(&ds, got, sizeof got);
        CHECK(rc == VKB_OK && ds.kind == good[i].kind && !strcmp(got, good[i].items),
              "'%s' parses to kind %d '%s' (rc %d, kind %d, '%s', %s)", good[i].spec,
              good[i].kind, good[i].items, rc, ds.kind, got, rc ? err : "");
        CHECK(vkb_device_spec_parse(good[i].spec, NULL, err, sizeof err) == VKB_OK,
              "'%s' checks without an out", good[i].spec);
    }
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        vkb_device_spec ds;
        err[0] = 0;
        int rc = vkb_device_spec_parse(bad[i].spec, &ds, err, sizeof err);
        CHECK(rc == VKB_EINVAL && strstr(err, bad[i].why) && !strchr(err, '\n'),
              "'%s' refused naming '%s' (rc %d: %s)", bad[i].spec, bad[i].why, rc, err);
    }
    vkb_device_spec ds;
    CHECK(vkb_device_spec_parse(NULL, &ds, err, sizeof err) == VKB_OK && ds.kind == VKB_SPEC_AUTO,
          "NULL is auto");
    char sixteen[128] = "vulkan:0";
    for (int i = 1; i < VKB_MAX_DEVICES; i++)
        strcat(sixteen, ", cpu");
    CHECK(vkb_device_spec_parse(sixteen, &ds, err, sizeof err) == VKB_OK &&
              ds.n == VKB_MAX_DEVICES,
          "a list of VKB_MAX_DEVICES items is fine (%s)", err);
}

/* ---------------------------------------------------------------- the service's config */

/* `serve --device spec` (by_env 0) or VKB_DEVICE=spec (by_env 1): 0 if accepted. */
static int service_load(const char *spec, int by_env, vkb_service_config *cfg, char *err,
                        size_t errlen)
{
    const char *env[] = {"VKB_DEVICE", spec, NULL};
    const char *argv[] = {"serve", "--device", spec};
    tl_fake_env = by_env ? env : NULL;
    return vkb_service_config_load(cfg, by_env ? 1 : 3, (char **)argv, tl_fake_getenv, err, errlen);
}

static void test_service_cuda_forms(void)
{
    vkb_service_config cfg;
    char err[512];
    struct { const char *spec; const char *device; } ok[] = {
        {"cuda", "vulkan:0"}, {"cuda:1", "vulkan:1"}, {"cuda:1023", "vulkan:1023"},
        {"vulkan:0, vulkan:1", "vulkan:0, vulkan:1"}, {"", ""},
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
        for (int by_env = 0; by_env < 2; by_env++) {
            int rc = service_load(ok[i].spec, by_env, &cfg, err, sizeof err);
            CHECK(rc == 0 && !strcmp(cfg.device, ok[i].device),
                  "service reads '%s' (%s) as '%s' (got %s)", ok[i].spec,
                  by_env ? "env" : "flag", ok[i].device, rc ? err : cfg.device);
        }
    const char *refused[] = {"cuda:x", "cuda:", "cuda:-1", "cuda: 1", "cuda:1024",
                             "cuda:0,cuda:1", "cuda,cpu"};
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        int rc = service_load(refused[i], 0, &cfg, err, sizeof err);
        char want[64];
        snprintf(want, sizeof want, "--device=%s: bad device '%s'", refused[i], refused[i]);
        CHECK(rc == -1 && strstr(err, want), "service refuses '%s' naming it (%s)", refused[i],
              rc ? err : "accepted");
    }
    const char *torch[] = {"TORCH_DEVICE", "cuda:2", NULL};
    tl_fake_env = torch;
    const char *no_args[] = {"serve"};
    CHECK(vkb_service_config_load(&cfg, 1, (char **)no_args, tl_fake_getenv, err, sizeof err) == 0 &&
              !strcmp(cfg.device, "vulkan:2"),
          "TORCH_DEVICE=cuda:2 -> vulkan:2");
    const char *torch_list[] = {"TORCH_DEVICE", "vulkan:0", NULL};
    tl_fake_env = torch_list;
    CHECK(vkb_service_config_load(&cfg, 1, (char **)no_args, tl_fake_getenv, err, sizeof err) == -1 &&
              strstr(err, "TORCH_DEVICE=vulkan:0"),
          "TORCH_DEVICE takes only torch's names: %s", err);
}

/* ---------------------------------------------------------------- engine and service agree */

/* Specs both must read alike. Accepted ones must be openable here (cpu always; Vulkan ones
 * only where a Vulkan device exists, else the engine half is skipped). */
static const char *shared_specs[] = {
    "auto", " all ", "cpu", " cpu ", "cpu, cpu", "vulkan", "vulkan:0", "vulkan:0, vulkan:0",
    "cpu ,\tvulkan:0", "vulkan:0,,cpu", "cpu,", " ", "vulkan:x", "vulkan:0, gpu", "all,cpu",
    "cpu, auto", "vulkan:1024",
    "cpu,cpu,cpu,cpu,cpu,cpu,cpu,cpu,cpu,cpu,cpu,cpu,cpu,cpu,cpu,cpu,cpu",
};

static int needs_vulkan(const vkb_device_spec *ds)
{
    for (int i = 0; ds->kind == VKB_SPEC_LIST && i < ds->n; i++)
        if (!strncmp(ds->items[i], "vulkan", 6))
            return 1;
    return 0;
}

/* How many devices an accepted spec opens, and checks the ids of the ones it names. */
static void check_opened(const char *spec, const vkb_device_spec *ds, vkb_engine *e,
                         int n_vulkan)
{
    vkb_engine_stats st;
    vkb_engine_get_stats(e, &st);
    int want = ds->kind == VKB_SPEC_LIST ? ds->n
               : ds->kind == VKB_SPEC_ALL ? (n_vulkan ? n_vulkan : 1)
                                           : 1;
    CHECK(st.n_devices == want, "engine opened %d devices for '%s', want %d", st.n_devices,
          spec, want);
    for (int i = 0; ds->kind == VKB_SPEC_LIST && i < ds->n && i < st.n_devices; i++)
        if (strcmp(ds->items[i], "vulkan")) /* "vulkan" is whichever device is best */
            CHECK(!strcmp(st.devices[i].id, ds->items[i]), "'%s' device %d is %s, want %s",
                  spec, i, st.devices[i].id, ds->items[i]);
}

static void test_engine_and_service_agree(int n_vulkan)
{
    for (size_t i = 0; i < sizeof shared_specs / sizeof *shared_specs; i++) {
        const char *spec = shared_specs[i];
        vkb_device_spec ds;
        char parse_err[256] = "", svc_err[512] = "", eng_err[512] = "";
        int parsed = vkb_device_spec_parse(spec, &ds, parse_err, sizeof parse_err) == VKB_OK;
        vkb_service_config cfg;
        int svc_ok = service_load(spec, 0, &cfg, svc_err, sizeof svc_err) == 0;
        int env_ok = service_load(spec, 1, &cfg, svc_err, sizeof svc_err) == 0;
        CHECK(svc_ok == parsed && env_ok == parsed, "service (flag %d, env %d) and grammar (%d) "
              "agree on '%s'", svc_ok, env_ok, parsed, spec);
        if (!parsed)
            CHECK(strstr(svc_err, parse_err) != NULL, "service gives the grammar's reason for "
                  "'%s': '%s' in '%s'", spec, parse_err, svc_err);
        if (parsed && needs_vulkan(&ds) && n_vulkan == 0) {
            printf("SKIP engine half of '%s': no Vulkan device\n", spec);
            continue;
        }
        vkb_engine_config ec = {.device = spec, .embed_batch = 4};
        vkb_engine *e = NULL;
        int rc = vkb_engine_create(&ec, &e, eng_err, sizeof eng_err);
        CHECK((rc == VKB_OK) == parsed, "engine (rc %d: %s) and service agree on '%s'", rc,
              rc ? eng_err : "ok", spec);
        if (rc == VKB_OK)
            check_opened(spec, &ds, e, n_vulkan);
        else
            CHECK(rc == VKB_EINVAL && !strcmp(eng_err, parse_err),
                  "engine refuses '%s' with the grammar's line (rc %d: '%s' vs '%s')", spec, rc,
                  eng_err, parse_err);
        vkb_engine_destroy(e);
    }
}

/* ---------------------------------------------------------------- the real server refuses */

/* Runs `vkbridge serve` with a bad spec; it must exit non-zero at once, naming the item on
 * stderr. env_spec goes in VKB_DEVICE, flag_spec after --device (either may be NULL). */
/* vkb_backend_open takes one item of the same grammar: lists and "all" are refused, spaces
 * are not an error, a bad index is refused before any device is touched. */
static void test_backend_open(void)
{
    static const struct { const char *spec; int ok; } cases[] = {
        {" cpu ", 1}, {"", 1}, {"all", 0}, {"cpu,cpu", 0}, {"vulkan:1024", 0}, {"vulkan: 1", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        vkb_backend *b = NULL;
        char err[256] = "";
        int rc = vkb_backend_open(cases[i].spec, &b, err, sizeof err);
        CHECK(cases[i].ok ? rc == VKB_OK && b : rc == VKB_EINVAL && !b && strstr(err, "bad device"),
              "vkb_backend_open('%s'): rc %d (%s)", cases[i].spec, rc, err);
        vkb_backend_close(b);
    }
}

static void check_server_refuses(const char *env_spec, const char *flag_spec, const char *want)
{
    char errfile[] = "/tmp/vkb_devspec_XXXXXX";
    int fd = mkstemp(errfile);
    if (!CHECK(fd >= 0, "temp file"))
        return;
    close(fd);
    char cmd[1024];
    /* timeout: a server that wrongly starts must not hang the test */
    snprintf(cmd, sizeof cmd,
             "%s%s%s timeout 60 '%s' serve --port 0 --model-embed '' --model-bertscore '' "
             "%s%s%s 2>'%s' >/dev/null",
             env_spec ? "VKB_DEVICE='" : "", env_spec ? env_spec : "", env_spec ? "'" : "",
             tl_binary(), flag_spec ? "--device '" : "", flag_spec ? flag_spec : "",
             flag_spec ? "'" : "", errfile);
    int status = system(cmd);
    char text[1024] = "";
    FILE *f = fopen(errfile, "r");
    if (f) {
        size_t n = fread(text, 1, sizeof text - 1, f);
        text[n] = 0;
        fclose(f);
    }
    unlink(errfile);
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    CHECK(code != 0 && code != 124 && code != -1, "serve with a bad device exits non-zero at "
          "once (exit %d)", code);
    CHECK(strstr(text, want) != NULL, "serve's stderr names the bad item '%s': %s", want, text);
}

/* "auto": a real GPU, else the CPU backend, never a CPU-type Vulkan device; the backend
 * says which and why, a device opened by name says nothing. */
static void test_auto(const vkb_device_info *info, int n)
{
    int gpus = 0;
    for (int i = 0; i < n; i++)
        gpus += strcmp(info[i].type, "cpu") != 0;
    char one[32], why[256];
    vkb_device_auto(one, sizeof one, why, sizeof why);
    vkb_backend *b = NULL;
    char err[256];
    CHECK(vkb_backend_open("auto", &b, err, sizeof err) == VKB_OK, "auto opens: %s", err);
    if (!b)
        return;
    CHECK(!strcmp(vkb_backend_choice(b), why), "the backend says auto's line: '%s' vs '%s'",
          vkb_backend_choice(b), why);
    CHECK(!strcmp(vkb_backend_id(b), one), "auto opened %s, chose %s", vkb_backend_id(b), one);
    if (gpus == 0)
        CHECK(!strcmp(one, "cpu") && strstr(why, n ? "CPU-type" : "no Vulkan device"),
              "%d Vulkan devices, none a GPU: auto is the CPU backend (%s)", n, why);
    else
        CHECK(!strncmp(one, "vulkan:", 7), "a GPU: auto takes it (%s)", why);
    printf("%s\n", why);
    vkb_backend_close(b);
    CHECK(vkb_backend_open("cpu", &b, err, sizeof err) == VKB_OK && !vkb_backend_choice(b)[0],
          "a device by name has no auto line");
    vkb_backend_close(b);
    if (n > 0) { /* lavapipe stays reachable by name */
        CHECK(vkb_backend_open("vulkan:0", &b, err, sizeof err) == VKB_OK &&
                  !strcmp(vkb_backend_id(b), "vulkan:0"), "vulkan:0 opens when asked: %s", err);
        vkb_backend_close(b);
    }
}

int main(void)
{
    test_grammar();
    test_service_cuda_forms();
    test_backend_open();

    vkb_device_info *info = NULL;
    int n_vulkan = 0;
    char why[256];
    if (vkb_vulkan_devices(&info, &n_vulkan, why, sizeof why) != VKB_OK)
        n_vulkan = 0;
    test_auto(info, n_vulkan);
    free(info);
    test_engine_and_service_agree(n_vulkan);

    check_server_refuses("vulkan:0,,cpu", NULL, "VKB_DEVICE=vulkan:0,,cpu: bad device list "
                         "'vulkan:0,,cpu': item 2 is empty");
    check_server_refuses(NULL, "vulkan:0, gpu", "--device=vulkan:0, gpu: bad device 'gpu'");
    check_server_refuses(NULL, "cuda:x", "--device=cuda:x: bad device 'cuda:x'");
    return tl_finish();
}
