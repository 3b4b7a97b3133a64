"""The device's push endpoints as the peers' own clients use them (device/net/push.c).

ESP8266HTTPUpdateServer (esp8266/Arduino libraries/ESP8266HTTPUpdateServer/src/
ESP8266HTTPUpdateServer-impl.h, checked at f946290e), as a browser uses it:
  - its page posts multipart/form-data to the same path, field "firmware" (accept .bin,.bin.gz) or,
    in a second form, "filesystem";
  - OPTIONS <path>: 200 text/html "y" with Access-Control-Allow-Headers: * and
    Access-Control-Allow-Origin: * (a preflight carries no credentials);
  - POST answers carry the same two headers; success is 200 text/html
    '<META http-equiv="refresh" content="15;URL=/">Update Success! Rebooting...' (the browser goes
    back to / after 15 s), failure 200 "Update error: " + the Updater's "ERROR[n]: message\n".

Mongoose (cesanta/mongoose, checked at 282ae0d9, 2026-08-07):
  - the device dashboard (resources/dashboard.js, upload()) sends fetch('api/ota', {method:'POST',
    body}) from the browser: the raw image, the session in the Cookie access_token (or, after a
    401, the Basic credentials the browser asked for); it only looks at r.ok (2xx). src/dash.c
    answers mg_dash_ota_cb(): 200 "ok\\n", or 500 with the error text.
  - the tutorials (tutorials/stm32/nucleo-h563zi/minimal/main.c, http_ev_handler) take
    /api/ota/update through mg_http_start_ota() (200 "ok\\n", 500 "<error>\\n") and match
    /api/ota/commit and /api/ota/rollback with any method, answering 200 "ok\\n"; the README's
    client is curl (curl http://IP/api/ota/commit is a GET).
  - mg_http_creds() (src/http.c) reads credentials from Authorization Basic/Bearer, else the Cookie
    access_token, else ?access_token= in the query.
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import test_push  # noqa: E402

TOKEN = test_push.TOKEN


def browser_post(path, body, cookie=None, auth=None):
    """The request a browser's fetch(url, {method:'POST', body: ArrayBuffer}) sends (no Content-Type
    for an ArrayBuffer body)."""
    h = ("POST %s HTTP/1.1\r\nHost: 192.168.1.50\r\nConnection: keep-alive\r\nContent-Length: %d\r\n"
         "Accept: */*\r\nOrigin: http://192.168.1.50\r\nReferer: http://192.168.1.50/\r\n" % (path, len(body)))
    if cookie:
        h += "Cookie: %s\r\n" % cookie
    if auth:
        h += "Authorization: %s\r\n" % auth
    return (h + "\r\n").encode() + body


def split(answer):
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body


def fetch_ok(status):
    """dashboard.js: ok = r.ok."""
    return 200 <= status <= 299


class MongoosePush(test_push.PushDevice):
    def test_dashboard_upload_with_session_cookie(self):
        img = open(self.p("2.0.0.img"), "rb").read()
        st, body = split(self.raw(browser_post("/api/ota", img, cookie="theme=dark; access_token=" + TOKEN)))
        self.assertTrue(fetch_ok(st))
        self.assertEqual(body, b"ok\n")
        self.assertIn("version=2.0.0+0 state=testing", self.boot_line())
        # curl http://IP/api/ota/commit: a GET, credentials in the query this time.
        st, body, _ = self.req("GET", "/api/ota/commit?access_token=" + TOKEN, auth=None)
        self.assertEqual((st, body), (200, "ok\n"))
        self.assertEqual(self.status()["state"], "confirmed")

    def test_dashboard_without_credentials_changes_nothing(self):
        before = self.flash_sha()
        img = open(self.p("2.0.0.img"), "rb").read()[:64]  # refused before the body is read
        for cookie in (None, "access_token=wrong", "access_token=" + TOKEN + "x", "xaccess_token=" + TOKEN):
            st, _ = split(self.raw(browser_post("/api/ota", img, cookie=cookie)))
            self.assertFalse(fetch_ok(st), cookie)
            self.assertEqual(st, 401)
        st, _, _ = self.req("GET", "/api/ota/commit?access_token=nope", auth=None)
        self.assertEqual(st, 401)
        self.assertEqual(self.flash_sha(), before)

    def test_dashboard_upload_of_a_bad_image(self):
        other = open(self.p("9.0.0.img"), "rb").read()
        before = self.status()["state"]
        st, body = split(self.raw(browser_post("/api/ota", other, auth="Bearer " + TOKEN)))
        self.assertFalse(fetch_ok(st))
        self.assertEqual(st, 500)
        self.assertNotIn(b"\n", body)  # mg_dash_ota_cb sends the error text as it is
        self.assertEqual(self.status()["state"], before)

    def test_tutorial_endpoints_take_any_method(self):
        st, body, _ = self.req("POST", "/api/ota/update", open(self.p("2.0.0.img"), "rb").read())
        self.assertEqual((st, body), (200, "ok\n"))  # curl --data-binary @fw.bin http://IP/api/ota/update
        self.assertIn("version=2.0.0+0 state=testing", self.boot_line())
        self.assertEqual(self.req("PUT", "/api/ota/commit", b"")[:2], (200, "ok\n"))
        self.assertEqual(self.status()["state"], "confirmed")
        st, body, _ = self.req("POST", "/api/ota/update", open(self.p("3.0.0.img"), "rb").read())
        self.assertIn("version=3.0.0+0 state=testing", self.boot_line())
        self.assertEqual(self.req("GET", "/api/ota/rollback")[:2], (200, "ok\n"))  # curl http://IP/api/ota/rollback
        self.assertIn("version=2.0.0+0", self.boot_line())


BOUNDARY = "----WebKitFormBoundaryq8yYOh2ZxJ3cBmVt"


def browser_form_post(path, field, filename, data, auth=None, origin=None):
    """What a browser sends when the update page's form is submitted (action='' posts to the
    page's own path)."""
    body = ("--%s\r\nContent-Disposition: form-data; name=\"%s\"; filename=\"%s\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n" % (BOUNDARY, field, filename)).encode() + data + \
        ("\r\n--%s--\r\n" % BOUNDARY).encode()
    h = ("POST %s HTTP/1.1\r\nHost: 192.168.4.1\r\nConnection: keep-alive\r\nContent-Length: %d\r\n"
         "Cache-Control: max-age=0\r\nOrigin: %s\r\nContent-Type: multipart/form-data; boundary=%s\r\n"
         "Accept: text/html\r\nReferer: http://192.168.4.1/update\r\n" % (path, len(body), origin or "http://192.168.4.1",
                                                                         BOUNDARY))
    if auth:
        h += "Authorization: %s\r\n" % auth
    return (h + "\r\n").encode() + body


def headers_of(answer):
    head = answer.partition(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
    return {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in head[1:])}


def meta_refresh(html):
    """The browser's reading of <META http-equiv="refresh" content="N;URL=u">: (seconds, url) or None."""
    import re
    m = re.search(r'<meta\s+http-equiv="refresh"\s+content="(\d+);\s*url=([^"]*)"', html, re.I)
    return (int(m.group(1)), m.group(2)) if m else None


def preflight_ok(status, hdr, origin, want_headers):
    """A browser's CORS check of a preflight answer (Fetch standard, CORS-preflight fetch, request
    without credentials): an ok status, the origin allowed, and each requested header listed or
    covered by "*" (which never covers Authorization)."""
    if not 200 <= status <= 299:
        return False
    if hdr.get("access-control-allow-origin") not in ("*", origin):
        return False
    allowed = [h.strip().lower() for h in hdr.get("access-control-allow-headers", "").split(",")]
    return all(h in allowed or ("*" in allowed and h != "authorization") for h in want_headers)


class EspUpdateServerPush(test_push.PushDevice):
    BASIC = "Basic " + test_push.BASIC

    def test_form_upload_success_page_sends_the_browser_back(self):
        img = open(self.p("2.0.0.img"), "rb").read()
        answer = self.raw(browser_form_post("/update", "firmware", "fw.bin", img, auth=self.BASIC))
        st, body = split(answer)
        hdr = headers_of(answer)
        self.assertEqual((st, hdr["content-type"]), (200, "text/html"))
        self.assertTrue(body.decode().endswith("Update Success! Rebooting..."), body)
        self.assertEqual(meta_refresh(body.decode()), (15, "/"))
        self.assertEqual((hdr["access-control-allow-origin"], hdr["access-control-allow-headers"]), ("*", "*"))
        self.assertIn("version=2.0.0+0 state=testing", self.boot_line())

    def test_preflight_from_another_origin(self):
        """A page elsewhere posting to the device: the browser's preflight has no credentials."""
        origin = "http://tools.example"
        pre = ("OPTIONS /update HTTP/1.1\r\nHost: 192.168.4.1\r\nOrigin: %s\r\n"
               "Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: x-requested-with\r\n"
               "Connection: close\r\n\r\n" % origin).encode()
        answer = self.raw(pre)
        st, body = split(answer)
        self.assertEqual((st, body), (200, b"y"))
        self.assertTrue(preflight_ok(st, headers_of(answer), origin, ["x-requested-with"]))
        # As with the real server, "*" does not let a script send Authorization cross-origin.
        self.assertFalse(preflight_ok(st, headers_of(answer), origin, ["authorization"]))
        # The POST that follows: CORS headers on the answer (also on a refusal), so the page reads it.
        img = open(self.p("3.0.0.img"), "rb").read()
        answer = self.raw(browser_form_post("/update", "firmware", "fw.bin", img[:64], origin=origin))
        self.assertEqual(split(answer)[0], 401)  # refused before the body (a short one, read in one go)
        self.assertEqual(headers_of(answer)["access-control-allow-origin"], "*")
        answer = self.raw(browser_form_post("/update", "firmware", "fw.bin", img, auth=self.BASIC, origin=origin))
        self.assertEqual((split(answer)[0], headers_of(answer)["access-control-allow-origin"]), (200, "*"))
        self.boot_line()

    def test_filesystem_and_gzip_are_refused_like_the_updater_does(self):
        """The real page's second form (field "filesystem") and .bin.gz files: refused, 200 with
        "Update error: ERROR[n]: ..." as the real server reports an Updater error; nothing changes."""
        before = self.flash_sha()
        img = open(self.p("2.0.0.img"), "rb").read()
        import gzip
        for field, name, data, text in (("filesystem", "littlefs.bin", img, "filesystem images are not supported"),
                                        ("firmware", "fw.bin.gz", gzip.compress(img),
                                         "compressed (.bin.gz) images are not supported")):
            st, body = split(self.raw(browser_form_post("/update", field, name, data, auth=self.BASIC)))
            self.assertEqual(st, 200)
            self.assertRegex(body.decode(), r"^Update error: ERROR\[\d+\]: " + text.replace("(", r"\(").replace(")", r"\)")
                             .replace(".", r"\.") + r".*\n$")
        self.assertEqual(self.status()["state"], "none")
        self.assertEqual(self.flash_sha(), before)  # refused before the flash was touched


if __name__ == "__main__":
    import unittest as u
    u.main()
