/*
 * bench_util.c — what the benches share: a monotonic clock, printing the JSON result, and
 * removing a scratch folder of generated models.
 */
#include "commands.h"
#include "vkb_platform.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void bench_print_json(json_t *doc)
{
    char *text = json_dumps(doc, JSON_INDENT(1) | JSON_REAL_PRECISION(6));
    if (text)
        puts(text);
    free(text);
    json_decref(doc);
}

void bench_remove_dir(const char *dir, const char *who)
{
    if (vkb_remove_tree(dir) != 0)
        fprintf(stderr, "%s: could not remove %s\n", who, dir);
}
