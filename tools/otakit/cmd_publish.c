/*
 * otakit publish: the one line a CI job runs after its firmware build: sign the binary, upload it
 * as a release (an identical re-upload answers the existing release, so a retried job is safe) and,
 * when asked, start a rollout of it. Each step is the command it stands for (sign, release upload,
 * rollout create); the first that fails ends the run with its exit code.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "cli.h"

static const char publish_help[] =
    "usage: otakit publish --product ID --key KEY.pem --version V [--security-counter N] [--hw-rev R]\n"
    "                      [--channel official|beta] [--notes TEXT]\n"
    "                      [--stages 10,50,100 [--group G | --devices A,B] [--errors F] [--include-new]]\n"
    "                      FIRMWARE.bin\n"
    "common: --server URL (OTAKIT_SERVER_URL) --token TOKEN (OTAKIT_TOKEN) --json --cacert PEM (OTAKIT_CACERT)\n\n"
    "Signs FIRMWARE.bin for the product (otakit sign), uploads it as a release (otakit release upload;\n"
    "the same image again answers the existing release) and, with --stages, --group or --devices,\n"
    "starts a rollout of it (otakit rollout create). Exit codes as those commands'.\n";

/* Appends "--name value" to argv when value is set. */
static void pass(char **argv, int *n, const char *name, const char *value)
{
    if (value) {
        argv[(*n)++] = (char *)name;
        argv[(*n)++] = (char *)value;
    }
}

int cmd_publish(int argc, char **argv)
{
    static const char *const names[] = {"--product", "--key", "--version", "--security-counter", "--hw-rev",
                                        "--channel", "--notes", "--stages", "--group", "--devices", "--errors",
                                        "--server", "--token", "--cacert", NULL};
    const char *v[14] = {0}, *fw = NULL;
    char img[] = "/tmp/otakit-publish-XXXXXX", *sargv[16], *uargv[20], *rargv[28];
    int i, k, json = 0, include_new = 0, fd, rc, sn = 0, un = 0, rn = 0, out;
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(publish_help, stdout);
            return EXIT_OK;
        }
        if (!strcmp(argv[i], "--json")) {
            json = 1;
            continue;
        }
        if (!strcmp(argv[i], "--include-new")) {
            include_new = 1;
            continue;
        }
        for (k = 0; names[k] && strcmp(argv[i], names[k]); k++)
            ;
        if (names[k] && i + 1 < argc)
            v[k] = argv[++i];
        else if (argv[i][0] != '-' && !fw)
            fw = argv[i];
        else
            return usage_error("publish", "unexpected '%s'", argv[i]);
    }
    if (!v[0] || !v[1] || !v[2] || !fw)
        return usage_error("publish", "needs --product, --key, --version and FIRMWARE.bin");
    if ((fd = mkstemp(img)) < 0)
        return op_error("publish", img, OTA_ERR_FILE);
    close(fd);

    /* 1. sign (its report goes to stderr under --json, so stdout stays JSON) */
    sargv[sn++] = "sign";
    pass(sargv, &sn, "--key", v[1]);
    pass(sargv, &sn, "--version", v[2]);
    pass(sargv, &sn, "--product", v[0]);
    pass(sargv, &sn, "--security-counter", v[3]);
    pass(sargv, &sn, "--hw-rev", v[4]);
    sargv[sn++] = (char *)fw;
    sargv[sn++] = img;
    sargv[sn] = NULL;
    fflush(stdout);
    out = json ? dup(1) : -1;
    if (json)
        dup2(2, 1);
    rc = cmd_sign(sn, sargv);
    fflush(stdout);
    if (out >= 0) {
        dup2(out, 1);
        close(out);
    }
    if (rc != EXIT_OK) {
        unlink(img);
        return rc;
    }

    /* 2. upload */
    uargv[un++] = "release";
    uargv[un++] = "upload";
    for (k = 11; k < 14; k++)
        pass(uargv, &un, names[k], v[k]);
    pass(uargv, &un, "--product", v[0]);
    pass(uargv, &un, "--channel", v[5]);
    pass(uargv, &un, "--notes", v[6]);
    if (json)
        uargv[un++] = "--json";
    uargv[un++] = img;
    uargv[un] = NULL;
    rc = cmd_release(un, uargv);
    unlink(img);
    if (rc != EXIT_OK || (!v[7] && !v[8] && !v[9]))
        return rc;

    /* 3. rollout */
    rargv[rn++] = "rollout";
    rargv[rn++] = "create";
    for (k = 11; k < 14; k++)
        pass(rargv, &rn, names[k], v[k]);
    pass(rargv, &rn, "--product", v[0]);
    pass(rargv, &rn, "--release", v[2]);
    pass(rargv, &rn, "--stages", v[7]);
    pass(rargv, &rn, "--group", v[8]);
    pass(rargv, &rn, "--devices", v[9]);
    pass(rargv, &rn, "--errors", v[10]);
    if (include_new)
        rargv[rn++] = "--include-new";
    if (json)
        rargv[rn++] = "--json";
    rargv[rn] = NULL;
    return cmd_rollout(rn, rargv);
}
