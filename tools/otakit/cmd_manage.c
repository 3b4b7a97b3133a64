/*
 * otakit product | release | rollout | device: the management API from the command line.
 * Every command takes --server URL (OTAKIT_SERVER_URL), --token TOKEN (OTAKIT_TOKEN) and --json.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "api.h"
#include "cli.h"
#include "present.h"

/* Named string options of one command; values stay NULL when absent. */
struct opt {
    const char *name;
    const char *val;
};

/* Parses --name VALUE pairs (and --json, --help) into opts; positional args are left in argv from
 * *first. Returns -1 on a usage error (printed), 1 for --help, 0 otherwise. */
static int parse(const char *cmd, int argc, char **argv, struct opt *opts, api_t *a, int *first)
{
    struct option lo[28];
    int n = 0, c, idx;
    for (; opts[n].name; n++) {
        lo[n].name = opts[n].name;
        lo[n].has_arg = !strcmp(opts[n].name, "include-new") || !strcmp(opts[n].name, "owner") ||
                                !strcmp(opts[n].name, "enroll")
                            ? no_argument /* a flag */
                            : required_argument;
        lo[n].flag = NULL;
        lo[n].val = 1000 + n;
    }
    lo[n++] = (struct option){"server", required_argument, NULL, 's'};
    lo[n++] = (struct option){"token", required_argument, NULL, 't'};
    lo[n++] = (struct option){"json", no_argument, NULL, 'j'};
    lo[n++] = (struct option){"cacert", required_argument, NULL, 'c'};
    lo[n++] = (struct option){"help", no_argument, NULL, 'h'};
    lo[n] = (struct option){NULL, 0, NULL, 0};
    a->url = getenv("OTAKIT_SERVER_URL");
    a->token = getenv("OTAKIT_TOKEN");
    a->cacert = getenv("OTAKIT_CACERT");
    a->json = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", lo, &idx)) != -1) {
        if (c >= 1000)
            opts[c - 1000].val = optarg ? optarg : "1";
        else if (c == 's')
            a->url = optarg;
        else if (c == 't')
            a->token = optarg;
        else if (c == 'j')
            a->json = 1;
        else if (c == 'c')
            a->cacert = optarg;
        else if (c == 'h')
            return 1;
        else {
            usage_error(cmd, "bad option");
            return -1;
        }
    }
    *first = optind;
    return 0;
}

/* path = literal, then value (URL-escaped), literal, value...: mkpath(p, n, "/a/", id, "/b", NULL, NULL).
 * A NULL value ends the path after its literal. */
static void mkpath(char *path, size_t n, ...)
{
    va_list ap;
    const char *lit, *val;
    path[0] = 0;
    va_start(ap, n);
    while ((lit = va_arg(ap, const char *)) != NULL) {
        size_t len = strlen(path);
        snprintf(path + len, n > len ? n - len : 0, "%s", lit);
        if (!(val = va_arg(ap, const char *)))
            break;
        api_path_append(path, n, val);
    }
    va_end(ap);
}

static const char *get(struct opt *o, const char *name)
{
    for (; o->name; o++)
        if (!strcmp(o->name, name))
            return o->val;
    return NULL;
}

/* Appends ?k=v&... for the non-NULL values (URL-encoded). */
static void query(char *buf, size_t n, const char *const *kv)
{
    CURL *c = curl_easy_init();
    size_t len = strlen(buf);
    int first = !strchr(buf, '?');
    for (; kv[0]; kv += 2) {
        char *e;
        if (!kv[1])
            continue;
        e = curl_easy_escape(c, kv[1], 0);
        len += (size_t)snprintf(buf + len, n > len ? n - len : 0, "%c%s=%s", first ? '?' : '&', kv[0], e);
        curl_free(e);
        first = 0;
    }
    curl_easy_cleanup(c);
}

/* Prints a response as JSON (compact with --json, indented otherwise), terminal-safe: jansson
 * escapes C0 controls in strings; term_safe() also escapes DEL and C1 controls as \u00XX. */
static int show(const api_t *a, json_t *resp)
{
    char *s = json_dumps(resp, (a->json ? JSON_COMPACT : JSON_INDENT(2) | JSON_PRESERVE_ORDER) | JSON_REAL_PRECISION(15));
    char *safe = s ? term_safe(s, 1) : NULL;
    if (safe)
        puts(safe);
    free(safe);
    free(s);
    return EXIT_OK;
}

/* Prints a list as a table of the given fields (or raw JSON with --json). */
static int table(const api_t *a, json_t *resp, const char *key, const char *const *fields)
{
    json_t *arr = json_object_get(resp, key);
    if (a->json || !json_is_array(arr))
        return show(a, resp);
    present_table(stdout, arr, fields);
    return EXIT_OK;
}

/* One call whose success prints the response. */
static int call(const char *cmd, const api_t *a, const char *method, const char *path, json_t *body, const char *file,
                long want, const char *list_key, const char *const *fields)
{
    json_t *resp;
    long st = api_call(a, method, path, body, file, &resp);
    int rc;
    json_decref(body);
    if (st != want && !(want == 201 && st == 200)) { /* 200: it existed as asked (an identical re-upload) */
        rc = api_fail(a, cmd, st, resp);
    } else {
        rc = list_key ? table(a, resp, list_key, fields) : show(a, resp);
    }
    json_decref(resp);
    return rc;
}

static int list_all(const api_t *a, const char *cmd, const char *base, const char *const *kv, const char *key,
                    const char *const *fields);

static const char product_help[] =
    "usage: otakit product create --id ID --name NAME --key PUB.pem [--version-rule semver|espressif]\n"
    "       otakit product list | show ID\n"
    "       otakit product set ID [--compat-esp on|off] [--compat-mongoose on|off]\n"
    "                             [--compat-confirm-by-version on|off]\n"
    "       otakit product rotate-token ID --owner|--enroll\n"
    "       otakit product key list ID | key add ID --key PUB.pem | key retire ID KEY_HASH\n"
    "common: --server URL (OTAKIT_SERVER_URL) --token TOKEN (OTAKIT_TOKEN) --json --cacert PEM (OTAKIT_CACERT)\n"
    "create needs the admin token and prints the product's owner and enrollment tokens once.\n"
    "set (owner token) says what the credential-less compat protocols may do in the product.\n"
    "rotate-token prints a new token once; the old one stops working at once. --owner needs the admin\n"
    "token, --enroll the owner token; registered devices keep their device tokens.\n"
    "key add / retire (owner token) rotate the signing key: uploads verify against every active key;\n"
    "releases signed by a retired key stay published (KEY_HASH: 8+ leading hex digits of it).\n";

int cmd_product(int argc, char **argv)
{
    struct opt o[] = {{"id", 0},         {"name", 0},           {"key", 0}, {"version-rule", 0}, {"compat-esp", 0},
                      {"compat-mongoose", 0}, {"compat-confirm-by-version", 0}, {"owner", 0}, {"enroll", 0}, {0, 0}};
    static const char *const fields[] = {"product_id", "name", "version_rule", "key_hash", NULL};
    char path[512], pem[1024];
    const char *sub = argc > 1 ? argv[1] : NULL;
    api_t a;
    int first, p;
    if (!sub || !strcmp(sub, "--help") || !strcmp(sub, "-h")) {
        fputs(product_help, sub ? stdout : stderr);
        return sub ? EXIT_OK : EXIT_USAGE;
    }
    if ((p = parse("product", argc - 1, argv + 1, o, &a, &first)) != 0)
        return p > 0 ? (fputs(product_help, stdout), EXIT_OK) : EXIT_USAGE;
    first++; /* skip the subcommand */
    if (!strcmp(sub, "create")) {
        ota_key_t *k;
        if (!get(o, "id") || !get(o, "name") || !get(o, "key"))
            return usage_error("product", "create needs --id, --name and --key");
        if (ota_key_load(get(o, "key"), &k) != OTA_OK || ota_key_public_pem(k, pem, sizeof pem) != OTA_OK)
            return op_error("product", get(o, "key"), OTA_ERR_KEY_PARSE);
        ota_key_free(k);
        return call("product", &a, "POST", "/api/v1/products",
                    json_pack("{s:s,s:s,s:s,s:s}", "product_id", get(o, "id"), "name", get(o, "name"), "public_key",
                              pem, "version_rule", get(o, "version-rule") ? get(o, "version-rule") : "semver"),
                    NULL, 201, NULL, NULL);
    }
    if (!strcmp(sub, "list"))
        return list_all(&a, "product", "/api/v1/products", (const char *const[]){NULL}, "products", fields);
    if (!strcmp(sub, "set") && argc - first == 1) {
        static const char *const keys[][2] = {{"compat-esp", "esp"},
                                              {"compat-mongoose", "mongoose"},
                                              {"compat-confirm-by-version", "confirm_by_version"}};
        json_t *compat = json_object();
        size_t k;
        for (k = 0; k < 3; k++) {
            const char *v = get(o, keys[k][0]);
            if (v && strcmp(v, "on") && strcmp(v, "off")) {
                json_decref(compat);
                return usage_error("product", "--%s takes on or off", keys[k][0]);
            }
            if (v)
                json_object_set_new(compat, keys[k][1], json_boolean(!strcmp(v, "on")));
        }
        mkpath(path, sizeof path, "/api/v1/products/", argv[first], NULL, NULL);
        return call("product", &a, "PATCH", path, json_pack("{s:o}", "compat", compat), NULL, 200, NULL, NULL);
    }
    if (!strcmp(sub, "rotate-token") && argc - first == 1) {
        if (!get(o, "owner") == !get(o, "enroll"))
            return usage_error("product", "rotate-token takes one of --owner and --enroll");
        mkpath(path, sizeof path, "/api/v1/products/", argv[first], get(o, "owner") ? "/owner-token" : "/enroll-token",
               NULL);
        return call("product", &a, "POST", path, NULL, NULL, 200, NULL, NULL);
    }
    if (!strcmp(sub, "key") && argc - first >= 2) {
        static const char *const kfields[] = {"key_hash", "active", "releases", "created_at", "retired_at", NULL};
        const char *op = argv[first];
        ota_key_t *k;
        mkpath(path, sizeof path, "/api/v1/products/", argv[first + 1], "/keys", NULL, NULL);
        if (!strcmp(op, "list") && argc - first == 2)
            return call("product", &a, "GET", path, NULL, NULL, 200, "keys", kfields);
        if (!strcmp(op, "add") && argc - first == 2) {
            if (!get(o, "key"))
                return usage_error("product", "key add needs --key PUB.pem");
            if (ota_key_load(get(o, "key"), &k) != OTA_OK || ota_key_public_pem(k, pem, sizeof pem) != OTA_OK)
                return op_error("product", get(o, "key"), OTA_ERR_KEY_PARSE);
            ota_key_free(k);
            return call("product", &a, "POST", path, json_pack("{s:s}", "public_key", pem), NULL, 201, NULL, NULL);
        }
        if (!strcmp(op, "retire") && argc - first == 3) {
            mkpath(path, sizeof path, "/api/v1/products/", argv[first + 1], "/keys/", argv[first + 2], NULL, NULL);
            return call("product", &a, "DELETE", path, NULL, NULL, 200, NULL, NULL);
        }
    }
    if (!strcmp(sub, "show") && argc - first == 1) {
        mkpath(path, sizeof path, "/api/v1/products/", argv[first], NULL, NULL);
        return call("product", &a, "GET", path, NULL, NULL, 200, NULL, NULL);
    }
    return usage_error("product", "unknown or incomplete subcommand '%s'", sub);
}

static const char release_help[] =
    "usage: otakit release upload --product ID [--version V] [--channel official|beta] [--slot 0|1]\n"
    "                             [--notes TEXT] IMAGE\n"
    "       otakit release list --product ID | show --product ID VERSION | delete --product ID VERSION\n"
    "common: --server URL (OTAKIT_SERVER_URL) --token TOKEN (OTAKIT_TOKEN) --json --cacert PEM (OTAKIT_CACERT)\n"
    "The server checks the image (signature by the product's key, version, security counter).\n";

int cmd_release(int argc, char **argv)
{
    struct opt o[] = {{"product", 0}, {"version", 0}, {"channel", 0}, {"slot", 0}, {"notes", 0}, {0, 0}};
    static const char *const fields[] = {"version", "channel", "security_counter", "notes", "created_at", NULL};
    char path[1024];
    const char *sub = argc > 1 ? argv[1] : NULL;
    api_t a;
    int first, p;
    if (!sub || !strcmp(sub, "--help") || !strcmp(sub, "-h")) {
        fputs(release_help, sub ? stdout : stderr);
        return sub ? EXIT_OK : EXIT_USAGE;
    }
    if ((p = parse("release", argc - 1, argv + 1, o, &a, &first)) != 0)
        return p > 0 ? (fputs(release_help, stdout), EXIT_OK) : EXIT_USAGE;
    first++;
    if (!get(o, "product"))
        return usage_error("release", "--product ID is required");
    if (!strcmp(sub, "upload") && argc - first == 1) {
        mkpath(path, sizeof path, "/api/v1/products/", get(o, "product"), "/releases", NULL, NULL);
        query(path, sizeof path,
              (const char *const[]){"version", get(o, "version"), "channel", get(o, "channel"), "slot", get(o, "slot"),
                                    "notes", get(o, "notes"), NULL});
        return call("release", &a, "POST", path, NULL, argv[first], 201, NULL, NULL);
    }
    if (!strcmp(sub, "list")) {
        mkpath(path, sizeof path, "/api/v1/products/", get(o, "product"), "/releases", NULL, NULL);
        return list_all(&a, "release", path, (const char *const[]){NULL}, "releases", fields);
    }
    if ((!strcmp(sub, "show") || !strcmp(sub, "delete")) && argc - first == 1) {
        mkpath(path, sizeof path, "/api/v1/products/", get(o, "product"), "/releases/", argv[first], NULL, NULL);
        return call("release", &a, !strcmp(sub, "show") ? "GET" : "DELETE", path, NULL, NULL, 200, NULL, NULL);
    }
    return usage_error("release", "unknown or incomplete subcommand '%s'", sub);
}

static const char rollout_help[] =
    "usage: otakit rollout create --product ID --release VERSION [--devices A,B,.. | --group G]\n"
    "                             [--stages 10,50,100] [--success 0.9] [--errors 0.2] [--include-new]\n"
    "       otakit rollout list --product ID | show --product ID ROLLOUT (a summary; --json: all of it)\n"
    "       otakit rollout pause|resume|cancel --product ID ROLLOUT\n"
    "common: --server URL (OTAKIT_SERVER_URL) --token TOKEN (OTAKIT_TOKEN) --json --cacert PEM (OTAKIT_CACERT)\n"
    "--include-new: devices registered later that the target (--group, or the whole product) matches\n"
    "join the last stage. A device is in one open rollout at a time: cancel the earlier one first.\n";

int cmd_rollout(int argc, char **argv)
{
    struct opt o[] = {{"product", 0}, {"release", 0}, {"devices", 0}, {"group", 0},     {"stages", 0},
                      {"success", 0}, {"errors", 0},  {"include-new", 0}, {0, 0}};
    static const char *const fields[] = {"id", "release", "state", "reason", "current_stage", "devices", "created_at",
                                         NULL};
    char path[1024];
    const char *sub = argc > 1 ? argv[1] : NULL;
    api_t a;
    int first, p;
    if (!sub || !strcmp(sub, "--help") || !strcmp(sub, "-h")) {
        fputs(rollout_help, sub ? stdout : stderr);
        return sub ? EXIT_OK : EXIT_USAGE;
    }
    if ((p = parse("rollout", argc - 1, argv + 1, o, &a, &first)) != 0)
        return p > 0 ? (fputs(rollout_help, stdout), EXIT_OK) : EXIT_USAGE;
    first++;
    if (!get(o, "product"))
        return usage_error("rollout", "--product ID is required");
    mkpath(path, sizeof path, "/api/v1/products/", get(o, "product"), "/rollouts", NULL, NULL);
    if (!strcmp(sub, "create")) {
        json_t *body, *target = json_object(), *stages = json_array();
        char *list, *tok, *save = NULL;
        if (!get(o, "release")) {
            json_decref(target);
            json_decref(stages);
            return usage_error("rollout", "create needs --release VERSION");
        }
        if (get(o, "devices")) {
            json_t *d = json_array();
            list = strdup(get(o, "devices"));
            for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
                json_array_append_new(d, json_string(tok));
            free(list);
            json_object_set_new(target, "devices", d);
        } else if (get(o, "group")) {
            json_object_set_new(target, "group", json_string(get(o, "group")));
        }
        list = strdup(get(o, "stages") ? get(o, "stages") : "100");
        for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            uint32_t pct;
            if (parse_uint(tok, 100, &pct) || pct == 0) {
                free(list);
                json_decref(target);
                json_decref(stages);
                return usage_error("rollout", "--stages are percentages 1..100, e.g. 10,50,100");
            }
            json_array_append_new(stages, json_pack("{s:i}", "percent", (int)pct));
        }
        free(list);
        body = json_pack("{s:s,s:o,s:o}", "release", get(o, "release"), "target", target, "stages", stages);
        if (get(o, "success"))
            json_object_set_new(body, "success_threshold", json_real(atof(get(o, "success"))));
        if (get(o, "errors"))
            json_object_set_new(body, "error_threshold", json_real(atof(get(o, "errors"))));
        if (get(o, "include-new"))
            json_object_set_new(body, "include_new", json_true());
        return call("rollout", &a, "POST", path, body, NULL, 201, NULL, NULL);
    }
    if (!strcmp(sub, "list"))
        return list_all(&a, "rollout", path, (const char *const[]){NULL}, "rollouts", fields);
    if (argc - first == 1 && (!strcmp(sub, "show") || !strcmp(sub, "pause") || !strcmp(sub, "resume") ||
                              !strcmp(sub, "cancel"))) {
        size_t n = strlen(path);
        snprintf(path + n, sizeof path - n, "/");
        api_path_append(path, sizeof path, argv[first]);
        n = strlen(path);
        snprintf(path + n, sizeof path - n, "%s%s", strcmp(sub, "show") ? "/" : "", strcmp(sub, "show") ? sub : "");
        if (!strcmp(sub, "show") && !a.json) { /* a summary for people; --json gives the server's JSON */
            json_t *resp;
            long st = api_call(&a, "GET", path, NULL, NULL, &resp);
            int rc = st == 200 ? (present_rollout(stdout, resp), EXIT_OK) : api_fail(&a, "rollout", st, resp);
            json_decref(resp);
            return rc;
        }
        return call("rollout", &a, strcmp(sub, "show") ? "POST" : "GET", path, NULL, NULL, 200, NULL, NULL);
    }
    return usage_error("rollout", "unknown or incomplete subcommand '%s'", sub);
}

/* GET path?filters&limit&offset a page at a time until "total" rows came (the server's paged
 * lists: devices, releases, rollouts), then prints them as one table. kv: filter name/value pairs, NULL ended. */
static int list_all(const api_t *a, const char *cmd, const char *base, const char *const *kv, const char *key,
                    const char *const *fields)
{
    json_t *all = json_array(), *resp = NULL;
    long long offset = 0, total = 0;
    char path[1024], off[24];
    const char *q[24];
    int rc = EXIT_OK, n = 0;
    for (; kv[n] && n < 18; n += 2) {
        q[n] = kv[n];
        q[n + 1] = kv[n + 1];
    }
    q[n] = "limit";
    q[n + 1] = "1000";
    q[n + 2] = "offset";
    q[n + 3] = off;
    q[n + 4] = NULL;
    do {
        long st;
        snprintf(off, sizeof off, "%lld", offset);
        snprintf(path, sizeof path, "%s", base);
        query(path, sizeof path, q);
        st = api_call(a, "GET", path, NULL, NULL, &resp);
        if (st != 200) {
            rc = api_fail(a, cmd, st, resp);
            break;
        }
        total = json_integer_value(json_object_get(resp, "total"));
        if (!json_array_size(json_object_get(resp, key)))
            break;
        offset += (long long)json_array_size(json_object_get(resp, key));
        json_array_extend(all, json_object_get(resp, key));
        json_decref(resp);
        resp = NULL;
    } while (offset < total);
    json_decref(resp);
    if (rc == EXIT_OK) {
        json_t *out = json_pack("{s:O,s:I}", key, all, "total", (json_int_t)total);
        rc = table(a, out, key, fields);
        json_decref(out);
    }
    json_decref(all);
    return rc;
}

static int device_list(const api_t *a, struct opt *o, const char *const *fields)
{
    char base[512];
    mkpath(base, sizeof base, "/api/v1/products/", get(o, "product"), "/devices", NULL, NULL);
    return list_all(a, "device", base,
                    (const char *const[]){"q", get(o, "search"), "state", get(o, "state"), "version", get(o, "version"),
                                          "group", get(o, "group"), "hw_rev", get(o, "hw-rev"), NULL},
                    "devices", fields);
}

static const char device_help[] =
    "usage: otakit device list --product ID [--search TEXT] [--state S] [--version V] [--group G]\n"
    "                          [--hw-rev H]    (every matching device, fetched a page at a time)\n"
    "       otakit device show --product ID DEVICE\n"
    "       otakit device commands --product ID DEVICE | history --product ID DEVICE   (every one, newest first)\n"
    "       otakit device command --product ID --type upgrade|reboot [--release VERSION] DEVICE\n"
    "       otakit device set --product ID --groups G1,G2,.. DEVICE   (replaces its groups; \"\" clears)\n"
    "common: --server URL (OTAKIT_SERVER_URL) --token TOKEN (OTAKIT_TOKEN) --json --cacert PEM (OTAKIT_CACERT)\n";

int cmd_device(int argc, char **argv)
{
    struct opt o[] = {{"product", 0}, {"type", 0}, {"release", 0}, {"search", 0}, {"state", 0},
                      {"version", 0}, {"group", 0}, {"hw-rev", 0}, {"groups", 0}, {0, 0}};
    static const char *const fields[] = {"device_id", "version", "slot", "state", "hw_rev", "groups", "last_seen", NULL};
    char path[1024];
    const char *sub = argc > 1 ? argv[1] : NULL;
    api_t a;
    int first, p;
    if (!sub || !strcmp(sub, "--help") || !strcmp(sub, "-h")) {
        fputs(device_help, sub ? stdout : stderr);
        return sub ? EXIT_OK : EXIT_USAGE;
    }
    if ((p = parse("device", argc - 1, argv + 1, o, &a, &first)) != 0)
        return p > 0 ? (fputs(device_help, stdout), EXIT_OK) : EXIT_USAGE;
    first++;
    if (!get(o, "product"))
        return usage_error("device", "--product ID is required");
    if (!strcmp(sub, "list"))
        return device_list(&a, o, fields);
    if (!strcmp(sub, "show") && argc - first == 1) {
        mkpath(path, sizeof path, "/api/v1/products/", get(o, "product"), "/devices/", argv[first], NULL, NULL);
        return call("device", &a, "GET", path, NULL, NULL, 200, NULL, NULL);
    }
    if ((!strcmp(sub, "commands") || !strcmp(sub, "history")) && argc - first == 1) {
        static const char *const cfields[] = {"id", "type", "status", "release", "consent", "created_at", NULL};
        static const char *const efields[] = {"id", "kind", "action_id", "at", "detail", NULL};
        int cmds = !strcmp(sub, "commands");
        mkpath(path, sizeof path, "/api/v1/products/", get(o, "product"), "/devices/", argv[first],
               cmds ? "/commands" : "/events", NULL, NULL);
        return list_all(&a, "device", path, (const char *const[]){NULL}, cmds ? "commands" : "events",
                        cmds ? cfields : efields);
    }
    if (!strcmp(sub, "command") && argc - first == 1) {
        json_t *body;
        if (!get(o, "type") || (strcmp(get(o, "type"), "upgrade") && strcmp(get(o, "type"), "reboot")))
            return usage_error("device", "command needs --type upgrade or --type reboot");
        mkpath(path, sizeof path, "/api/v1/products/", get(o, "product"), "/devices/", argv[first], "/commands", NULL, NULL);
        body = json_pack("{s:s}", "type", get(o, "type"));
        if (get(o, "release"))
            json_object_set_new(body, "release", json_string(get(o, "release")));
        return call("device", &a, "POST", path, body, NULL, 201, NULL, NULL);
    }
    if (!strcmp(sub, "set") && argc - first == 1) {
        json_t *groups = json_array();
        char buf[32 * 66 + 2], *tok, *save = NULL;
        if (!get(o, "groups") || strlen(get(o, "groups")) >= sizeof buf) {
            json_decref(groups);
            return usage_error("device", "set needs --groups G1,G2,.. (\"\" to clear)");
        }
        strcpy(buf, get(o, "groups"));
        for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
            json_array_append_new(groups, json_string(tok));
        mkpath(path, sizeof path, "/api/v1/products/", get(o, "product"), "/devices/", argv[first], NULL, NULL);
        return call("device", &a, "PATCH", path, json_pack("{s:o}", "groups", groups), NULL, 200, NULL, NULL);
    }
    return usage_error("device", "unknown or incomplete subcommand '%s'", sub);
}
