/*
 * The JSON writer of device/agent (see json.h): the request bodies of register, report and
 * command acks, built in the caller's buffer without printf.
 */
#include "otakit/err.h"

#include "jsonw.h"

static void put_string(ota_buf_t *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    ota_buf_put_n(b, "\"", 1);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        char esc[6];
        const char *shortform = ch == '\n' ? "\\n" : ch == '\r' ? "\\r" : ch == '\t' ? "\\t" : NULL;
        if (ch == '"' || ch == '\\') {
            esc[0] = '\\';
            esc[1] = (char)ch;
            ota_buf_put_n(b, esc, 2);
        } else if (shortform) {
            ota_buf_put_n(b, shortform, 2);
        } else if (ch < 0x20) {
            esc[0] = '\\';
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[ch >> 4];
            esc[5] = hex[ch & 15];
            ota_buf_put_n(b, esc, 6);
        } else {
            ota_buf_put_n(b, s, 1);
        }
    }
    ota_buf_put_n(b, "\"", 1);
}

static void put_key(ota_jw_t *w, const char *key)
{
    if (w->members++)
        ota_buf_put_n(&w->b, ",", 1);
    put_string(&w->b, key);
    ota_buf_put_n(&w->b, ":", 1);
}

void ota_jw_begin(ota_jw_t *w, char *buf, size_t cap)
{
    w->members = 0;
    if (!cap) {
        ota_buf_bytes(&w->b, buf, 0);
        w->b.full = 1;
        return;
    }
    buf[0] = 0;
    ota_buf_text(&w->b, buf, cap);
    ota_buf_put_n(&w->b, "{", 1);
}

void ota_jw_str(ota_jw_t *w, const char *key, const char *val)
{
    if (!val)
        return;
    put_key(w, key);
    put_string(&w->b, val);
}

void ota_jw_u32(ota_jw_t *w, const char *key, uint32_t v)
{
    put_key(w, key);
    ota_buf_put_u32(&w->b, v);
}

void ota_jw_bool(ota_jw_t *w, const char *key, int v)
{
    put_key(w, key);
    ota_buf_put(&w->b, v ? "true" : "false");
}

int ota_jw_end(ota_jw_t *w)
{
    ota_buf_put_n(&w->b, "}", 1);
    return w->b.full ? OTA_ERR_NO_SPACE : (int)w->b.n;
}
