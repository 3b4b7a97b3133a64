/* Tables and summaries for people (see present.h). */
#include "present.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

const char *present_ago(int64_t ts, int64_t now, char *buf, size_t n)
{
    int64_t s = now - ts;
    if (ts <= 0)
        snprintf(buf, n, "never");
    else if (s < 10)
        snprintf(buf, n, "just now");
    else if (s < 60)
        snprintf(buf, n, "%lld s ago", (long long)s);
    else if (s < 3600)
        snprintf(buf, n, "%lld min ago", (long long)(s / 60));
    else if (s < 86400)
        snprintf(buf, n, "%lld h ago", (long long)(s / 3600));
    else
        snprintf(buf, n, "%lld d ago", (long long)(s / 86400));
    return buf;
}

static int is_time(const char *field)
{
    size_t n = strlen(field);
    return !strcmp(field, "last_seen") || (n > 3 && !strcmp(field + n - 3, "_at"));
}

/* The cell text of one field (malloc'd, terminal-safe). */
static char *cell(json_t *row, const char *field, int64_t now)
{
    json_t *v = json_object_get(row, field);
    char buf[64], *s, *safe;
    if (is_time(field) && json_is_integer(v))
        return strdup(present_ago(json_integer_value(v), now, buf, sizeof buf));
    if (json_is_array(v)) { /* groups: a,b */
        size_t i, len = 0;
        json_t *x;
        s = calloc(1, 1);
        json_array_foreach(v, i, x) {
            const char *t = json_is_string(x) ? json_string_value(x) : "?";
            char *ns = realloc(s, len + strlen(t) + 2);
            if (!ns)
                break;
            s = ns;
            len += (size_t)sprintf(s + len, "%s%s", i ? "," : "", t);
        }
    } else {
        s = json_is_string(v) && *json_string_value(v) ? strdup(json_string_value(v)) : json_is_string(v) ? strdup("-") : v && !json_is_null(v) ? json_dumps(v, JSON_ENCODE_ANY)
                                                                                      : strdup("-");
    }
    safe = s ? term_safe(s, 0) : NULL;
    free(s);
    return safe ? safe : strdup("?");
}

void present_table(FILE *out, json_t *arr, const char *const *fields)
{
    size_t nf = 0, nr = json_array_size(arr), r, f, *w;
    char **cells;
    int64_t now = (int64_t)time(NULL);
    while (fields[nf])
        nf++;
    w = calloc(nf, sizeof *w);
    cells = calloc(nf * (nr ? nr : 1), sizeof *cells);
    if (!w || !cells) {
        free(w);
        free(cells);
        return;
    }
    for (f = 0; f < nf; f++)
        w[f] = strlen(fields[f]);
    for (r = 0; r < nr; r++)
        for (f = 0; f < nf; f++) {
            cells[r * nf + f] = cell(json_array_get(arr, r), fields[f], now);
            if (cells[r * nf + f] && strlen(cells[r * nf + f]) > w[f])
                w[f] = strlen(cells[r * nf + f]);
        }
    for (f = 0; f < nf; f++)
        fprintf(out, "%-*s%s", f + 1 < nf ? (int)w[f] : 0, fields[f], f + 1 < nf ? "  " : "\n");
    for (r = 0; r < nr; r++)
        for (f = 0; f < nf; f++) {
            const char *c = cells[r * nf + f] ? cells[r * nf + f] : "?";
            fprintf(out, "%-*s%s", f + 1 < nf ? (int)w[f] : 0, c, f + 1 < nf ? "  " : "\n");
        }
    for (r = 0; r < nr * nf; r++)
        free(cells[r]);
    free(cells);
    free(w);
}

static long long count(json_t *counts, const char *name)
{
    return (long long)json_integer_value(json_object_get(counts, name));
}

/* [#####+++!!....] 30 columns: confirmed/up to date '#', in progress '+', failed '!', pending '.'. */
static void bar(FILE *out, json_t *counts, long long total)
{
    static const char *const run[] = {"offered", "downloading", "downloaded", "installing", "installed", NULL};
    long long ok = count(counts, "confirmed") + count(counts, "up_to_date"), inflight = 0,
              bad = count(counts, "failed") + count(counts, "rolled_back"), cells[3];
    int i, k, used = 0;
    for (i = 0; run[i]; i++)
        inflight += count(counts, run[i]);
    cells[0] = total ? ok * 30 / total : 0;
    cells[1] = total ? inflight * 30 / total : 0;
    cells[2] = total ? bad * 30 / total : 0;
    fputc('[', out);
    for (k = 0; k < 3; k++)
        for (i = 0; i < cells[k] && used < 30; i++, used++)
            fputc("#+!"[k], out);
    for (; used < 30; used++)
        fputc('.', out);
    fputc(']', out);
}

static void counts_line(FILE *out, json_t *counts)
{
    const char *k;
    json_t *v;
    int n = 0;
    json_object_foreach(counts, k, v)
    {
        if (json_integer_value(v))
            fprintf(out, "%s%lld %s", n++ ? ", " : "", (long long)json_integer_value(v), k);
    }
    if (!n)
        fputs("no device", out);
}

void present_rollout(FILE *out, json_t *ro)
{
    json_t *stages = json_object_get(ro, "stages"), *s, *spec;
    const char *reason = json_string_value(json_object_get(ro, "reason"));
    char a[32], b[32];
    int64_t now = (int64_t)time(NULL);
    size_t i;
    char *name = term_safe(json_string_value(json_object_get(ro, "name")) ? json_string_value(json_object_get(ro, "name")) : "", 0);
    char *rel = term_safe(json_string_value(json_object_get(ro, "release")) ? json_string_value(json_object_get(ro, "release")) : "?", 0);
    fprintf(out, "rollout %lld%s%s%s of %s: %s%s%s%s\n", (long long)json_integer_value(json_object_get(ro, "id")),
            name && *name ? " \"" : "", name ? name : "", name && *name ? "\"" : "", rel ? rel : "?",
            json_string_value(json_object_get(ro, "state")), reason && *reason ? " (" : "", reason ? reason : "",
            reason && *reason ? ")" : "");
    free(name);
    free(rel);
    fprintf(out, "  %lld devices, started %s, updated %s; pauses at %.0f%% failures, advances at %.0f%% success\n",
            (long long)json_integer_value(json_object_get(ro, "devices")),
            present_ago(json_integer_value(json_object_get(ro, "created_at")), now, a, sizeof a),
            present_ago(json_integer_value(json_object_get(ro, "updated_at")), now, b, sizeof b),
            100 * json_number_value(json_object_get(ro, "error_threshold")),
            100 * json_number_value(json_object_get(ro, "success_threshold")));
    fputs("  all      ", out);
    bar(out, json_object_get(ro, "counts"), json_integer_value(json_object_get(ro, "devices")));
    fputc(' ', out);
    counts_line(out, json_object_get(ro, "counts"));
    fputc('\n', out);
    json_array_foreach(stages, i, s)
    {
        char what[48];
        spec = json_object_get(s, "spec");
        if (json_object_get(spec, "percent"))
            snprintf(what, sizeof what, "%lld%%", (long long)json_integer_value(json_object_get(spec, "percent")));
        else if (json_object_get(spec, "devices"))
            snprintf(what, sizeof what, "%zu named", json_array_size(json_object_get(spec, "devices")));
        else
            snprintf(what, sizeof what, "the rest");
        fprintf(out, "  stage %zu %-9s %-9s ", i + 1, what, json_string_value(json_object_get(s, "state")));
        bar(out, json_object_get(s, "counts"), json_integer_value(json_object_get(s, "devices")));
        fprintf(out, " %lld devices: ", (long long)json_integer_value(json_object_get(s, "devices")));
        counts_line(out, json_object_get(s, "counts"));
        fputc('\n', out);
    }
    fputs("  legend: # confirmed or up to date, + in progress, ! failed or rolled back, . pending\n", out);
}
