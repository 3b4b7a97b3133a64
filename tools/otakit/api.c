/* HTTP client of the management API (see api.h). */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <curl/curl.h>

#include "cli.h"

struct buf {
    char *p;
    size_t n;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct buf *b = ud;
    size_t n = size * nmemb;
    char *np = realloc(b->p, b->n + n + 1);
    if (!np)
        return 0;
    b->p = np;
    memcpy(b->p + b->n, ptr, n);
    b->n += n;
    b->p[b->n] = 0;
    return n;
}

long api_call(const api_t *a, const char *method, const char *path, json_t *body, const char *file, json_t **resp)
{
    CURL *c;
    struct curl_slist *h = NULL;
    struct buf b = {NULL, 0};
    char url[2048], auth[512], *payload = NULL;
    FILE *f = NULL;
    long status = -1;
    CURLcode rc;

    *resp = NULL;
    if (!a->url || !*a->url) {
        fprintf(stderr, "otakit: no server: pass --server URL or set OTAKIT_SERVER_URL\n");
        return -1;
    }
    { /* "https://host/" and "https://host" are the same server */
        size_t ul = strlen(a->url);
        while (ul > 0 && a->url[ul - 1] == '/')
            ul--;
        snprintf(url, sizeof url, "%.*s%s", (int)ul, a->url, path);
    }
    if (!(c = curl_easy_init()))
        return -1;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    if (a->cacert && *a->cacert) /* a private CA: trusted alone, the system's store is not consulted */
        curl_easy_setopt(c, CURLOPT_CAINFO, a->cacert);
    if (a->token && *a->token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", a->token);
        h = curl_slist_append(h, auth);
    }
    if (body) {
        payload = json_dumps(body, JSON_COMPACT);
        h = curl_slist_append(h, "Content-Type: application/json");
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload);
    } else if (file) {
        struct stat st;
        if (!(f = fopen(file, "rb")) || fstat(fileno(f), &st) != 0) {
            perror(file);
            if (f)
                fclose(f);
            curl_easy_cleanup(c);
            return -1;
        }
        h = curl_slist_append(h, "Content-Type: application/octet-stream");
        h = curl_slist_append(h, "Expect:");
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_READDATA, f);
        curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)st.st_size);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
        fprintf(stderr, "otakit: %s: %s\n", url, curl_easy_strerror(rc));
        if (a->json) /* curl's messages are plain ASCII without quotes */
            printf("{\"status\":0,\"error\":{\"code\":\"network\",\"message\":\"%s\"}}\n", curl_easy_strerror(rc));
    } else {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    }
    if (b.p && b.n)
        *resp = json_loadb(b.p, b.n, 0, NULL);
    free(b.p);
    free(payload);
    if (f)
        fclose(f);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return status;
}

int api_fail(const api_t *a, const char *cmd, long status, json_t *resp)
{
    json_t *e = json_object_get(resp, "error");
    if (status < 0)
        return EXIT_NETWORK;
    if (a->json) { /* for scripts: the server's error object and the status, one line on stdout */
        json_t *o = json_pack("{s:I,s:O}", "status", (json_int_t)status, "error", e ? e : json_null());
        char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
        if (s)
            puts(s);
        free(s);
        json_decref(o);
    }
    if (e) {
        const char *code = json_string_value(json_object_get(e, "code"));
        const char *msg = json_string_value(json_object_get(e, "message"));
        char *c = term_safe(code ? code : "(no code)", 0), *m = term_safe(msg ? msg : "(no message)", 0);
        fprintf(stderr, "otakit %s: server said %ld %s: %s\n", cmd, status, c ? c : "?", m ? m : "?");
        free(c);
        free(m);
    } else
        fprintf(stderr, "otakit %s: server said %ld\n", cmd, status);
    return status == 401 || status == 403 ? EXIT_AUTH
           : status == 404               ? EXIT_NOT_FOUND
           : status == 409               ? EXIT_CONFLICT
                                         : EXIT_FAIL;
}

void api_path_append(char *path, size_t n, const char *s)
{
    CURL *c = curl_easy_init();
    char *e = c ? curl_easy_escape(c, s, 0) : NULL;
    size_t len = strlen(path);
    snprintf(path + len, n > len ? n - len : 0, "%s", e ? e : "");
    curl_free(e);
    curl_easy_cleanup(c);
}
