"""The device's push endpoints as the peers' own clients use them (device/net/push.c).

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


if __name__ == "__main__":
    import unittest as u
    u.main()
