/*
 * otakit: sign, verify and inspect firmware images (and, later, drive the update server).
 * One binary with subcommands, like git; each subcommand has --help.
 */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "cli.h"

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    {"keygen", cmd_keygen, "generate an ECDSA P-256 signing key (PEM)"},
    {"getpub", cmd_getpub, "print a key's public half: C array, key hash, PEM or DER"},
    {"sign", cmd_sign, "turn a raw firmware .bin into a signed image"},
    {"verify", cmd_verify, "check images against trusted public keys"},
    {"inspect", cmd_inspect, "show what an image holds (human or --json)"},
    {"product", cmd_product, "server: create and list products"},
    {"release", cmd_release, "server: upload, list and delete releases"},
    {"rollout", cmd_rollout, "server: staged rollouts (create, pause, resume, cancel)"},
    {"device", cmd_device, "server: list devices, send upgrade/reboot commands"},
    {"publish", cmd_publish, "server: sign, upload and optionally roll out, in one line (for CI)"},
    {"push", cmd_push, "send an image straight to a device (--mqtt: Mongoose's OTA over MQTT)"},
};

static void usage(FILE *f)
{
    size_t i;
    fprintf(f, "usage: otakit <command> [options]\n\n"
               "Signed firmware images in the MCUboot format: images from MCUboot's imgtool verify\n"
               "here and ours verify there.\n\ncommands:\n");
    for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n'otakit <command> --help' shows a command's options.\n"
               "Exit status: 0 success, 1 the operation failed (e.g. an image did not verify),\n"
               "2 bad command line. Server commands take --server URL and --token TOKEN (or\n"
               "OTAKIT_SERVER_URL and OTAKIT_TOKEN).\n");
}

int main(int argc, char **argv)
{
    size_t i;
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return EXIT_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("otakit %s\n", OTAKIT_VERSION);
        return EXIT_OK;
    }
    for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "otakit: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return EXIT_USAGE;
}
