/*
 * The device's own update page (see otakit/update_page.h): one static page whose script lists the
 * catalog, posts the choice and polls the progress; the answers are built in the port's buffer.
 */
#include "otakit/update_page.h"

#include <string.h>

#include "core/buf.h"

static const char page[] =
    "<!DOCTYPE html><html><head><meta charset='utf-8'><meta name='viewport' content='width=device-width'>"
    "<title>Update</title><style>"
    "body{font-family:sans-serif;margin:0;background:#f4f4f4}header{background:#263238;color:#fff;"
    "padding:10px 16px;font-size:18px}main{padding:16px;max-width:520px}"
    "table{border-collapse:collapse;width:100%;background:#fff}td,th{padding:6px 8px;border-bottom:1px solid #ddd;"
    "text-align:left}button{margin-top:12px;padding:8px 20px;background:#263238;color:#fff;border:0;"
    "font-size:15px}progress{width:100%;height:22px;margin-top:12px}#msg{margin-top:10px}"
    "</style></head><body><header>UPDATE</header><main>"
    "<div>Running <b id='run'>?</b></div>"
    "<form id='f'><table><thead><tr><th></th><th>Binary</th><th>Size</th><th>Date</th></tr></thead>"
    "<tbody id='cat'><tr><td colspan='4'>loading the catalog...</td></tr></tbody></table>"
    "<button id='go' type='submit'>UPDATE</button></form>"
    "<progress id='bar' max='100' value='0' hidden></progress><div id='msg'></div></main><script>"
    "const $=i=>document.getElementById(i);let was=null,started=false;"
    "function esc(s){return String(s).replace(/[&<>\"']/g,c=>'&#'+c.charCodeAt(0)+';')}"
    "async function cat(){const r=await fetch('/_ac/update_catalog');if(!r.ok){$('cat').innerHTML="
    "'<tr><td colspan=4>catalog: '+esc(await r.text())+'</td></tr>';return}const l=(await r.json())"
    ".filter(e=>/\\.bin$/i.test(e.name||'')||e.type==='bin');$('cat').innerHTML=l.length?l.map((e,i)=>"
    "'<tr><td><input type=radio name=bin value=\"'+esc(e.name)+'\"'+(i?'':' checked')+'></td><td>'+"
    "esc(e.name)+'</td><td>'+esc(e.size===undefined?'':e.size)+'</td><td>'+esc((e.date||'')+' '+(e.time||''))+"
    "'</td></tr>')"
    ".join(''):'<tr><td colspan=4>no binaries</td></tr>'}"
    "async function poll(){let p=null;try{const r=await fetch('/_ac/update_progress');if(r.ok)p=await r.json()}"
    "catch(e){}if(!p){$('msg').textContent='Resetting into the new image...';return setTimeout(poll,300)}"
    "$('run').textContent=p.running;if(was===null)was=p.running;"
    "if(p.state==='pulling'){$('bar').hidden=false;$('bar').value=p.total?Math.floor(p.done*100/p.total):0;"
    "$('msg').textContent='Updating '+p.name+': '+p.done+' / '+p.total+' bytes'}"
    "else if(p.state==='done'){$('bar').value=100;$('msg').textContent='Verified: resetting...'}"
    "else if(p.state==='failed'){$('msg').textContent='Update failed: '+p.error;started=false;return}"
    "else if(started&&p.running!==was){$('bar').value=100;$('msg').textContent='Updated: now running '+"
    "p.running;started=false;return}if(started)setTimeout(poll,300)}"
    "$('f').onsubmit=async ev=>{ev.preventDefault();const b=document.querySelector('input[name=bin]:checked');"
    "if(!b)return;const r=await fetch('/_ac/update_act',{method:'POST',headers:{'Content-Type':"
    "'application/x-www-form-urlencoded'},body:'name='+encodeURIComponent(b.value)});"
    "if(!r.ok){$('msg').textContent='Refused: '+await r.text();return}started=true;$('bar').hidden=false;poll()};"
    "fetch('/_ac/update_progress').then(r=>r.json()).then(p=>{$('run').textContent=p.running;was=p.running});"
    "cat();</script></body></html>";

static int hexval(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* The value of "name" in a form-encoded body, decoded into out (cap bytes). Returns 0 or -1. */
static int form_name(const char *body, size_t blen, char *out, size_t cap)
{
    size_t i = 0, n = 0;
    while (i + 5 <= blen && memcmp(body + i, "name=", 5) != 0) {
        while (i < blen && body[i] != '&')
            i++;
        i++;
    }
    if (i + 5 > blen)
        return -1;
    for (i += 5; i < blen && body[i] != '&'; i++) {
        int c = (unsigned char)body[i];
        if (c == '+')
            c = ' ';
        else if (c == '%') {
            if (i + 2 >= blen || hexval(body[i + 1]) < 0 || hexval(body[i + 2]) < 0)
                return -1;
            c = hexval(body[i + 1]) * 16 + hexval(body[i + 2]);
            i += 2;
        }
        if (c < 0x21 || c == 0x7f || c == '/' || c == '\\' || c == '"' || n + 1 >= cap)
            return -1; /* a binary's name: one path segment of printable characters */
        out[n++] = (char)c;
    }
    out[n] = 0;
    return n ? 0 : -1;
}

/* Appends s as the contents of a JSON string (quote, backslash and controls escaped). */
static void put_json(ota_buf_t *b, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '"' || *s == '\\')
            ota_buf_put_n(b, "\\", 1);
        if ((unsigned char)*s >= 0x20)
            ota_buf_put_n(b, s, 1);
    }
}

static int progress(const ota_push_page_t *pg, const char **text)
{
    static const char *const names[] = {"idle", "pulling", "done", "failed"};
    ota_page_progress_t p;
    ota_buf_t b;
    memset(&p, 0, sizeof p);
    pg->progress(pg->ctx, &p);
    pg->buf[0] = 0;
    ota_buf_text(&b, pg->buf, pg->cap);
    ota_buf_put(&b, "{\"state\":\"");
    ota_buf_put(&b, names[p.state <= OTA_PAGE_FAILED ? p.state : 0]);
    ota_buf_put(&b, "\",\"done\":");
    ota_buf_put_u32(&b, p.done);
    ota_buf_put(&b, ",\"total\":");
    ota_buf_put_u32(&b, p.total);
    ota_buf_put(&b, ",\"running\":\"");
    put_json(&b, p.running);
    ota_buf_put(&b, "\",\"name\":\"");
    put_json(&b, p.name);
    ota_buf_put(&b, "\",\"error\":\"");
    if (p.state == OTA_PAGE_FAILED)
        put_json(&b, ota_strerror(p.error));
    ota_buf_put(&b, "\"}");
    *text = b.full ? "{\"state\":\"idle\"}" : pg->buf;
    return 200;
}

int ota_update_page_answer(const ota_push_page_t *pg, const char *method, const char *path, const char *body,
                           size_t blen, const char **ctype, const char **text)
{
    char name[96];
    int rc, get = !strcmp(method, "GET");
    *ctype = "text/plain";
    if (!strcmp(path, "/_ac/update")) {
        *ctype = "text/html";
        *text = get ? page : "use GET";
        return get ? 200 : 405;
    }
    if (!strcmp(path, "/_ac/update_progress")) {
        *ctype = "application/json";
        return get ? progress(pg, text) : (*text = "use GET", 405);
    }
    if (!strcmp(path, "/_ac/update_catalog")) {
        if (!get)
            return *text = "use GET", 405;
        pg->buf[0] = 0;
        if ((rc = pg->catalog(pg->ctx, pg->buf, pg->cap)) < 0) {
            *text = ota_strerror(rc);
            return 502; /* the update server failed us */
        }
        *ctype = "application/json";
        *text = pg->buf;
        return 200;
    }
    if (!strcmp(path, "/_ac/update_act")) {
        if (strcmp(method, "POST") != 0)
            return *text = "use POST", 405;
        if (form_name(body, blen, name, sizeof name) != 0)
            return *text = "name=<binary> required", 400;
        if ((rc = pg->start(pg->ctx, name)) != OTA_OK) {
            *text = ota_strerror(rc);
            return 409;
        }
        *text = "started";
        return 200;
    }
    *text = "not found";
    return 404;
}
