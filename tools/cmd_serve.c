/*
 * cmd_serve.c — `vkbridge serve`: the HTTP service (service/vkb_service.h).
 */
#include "commands.h"
#include "vkb_service.h"

#include <stdio.h>
#include <stdlib.h>

int cmd_serve(int argc, char **argv)
{
    vkb_service_config cfg;
    char err[512];
    int rc = vkb_service_config_load(&cfg, argc, argv, getenv, err, sizeof(err));
    if (rc == 1) {
        vkb_service_usage(stdout);
        return 0;
    }
    if (rc != 0) {
        fprintf(stderr, "vkbridge serve: %s\n", err);
        return 2;
    }
    cfg.version = VKB_VERSION;
    return vkb_service_run(&cfg);
}
