"""The Mongoose OTA pull client (cesanta/mongoose src/ota.c, checked at 282ae0d9, 2026-08-07),
re-implemented for the tests: the requests it sends byte for byte, and its decisions.

s_version_fn() on MG_EV_CONNECT sends
    "GET %s%sarch=%d&version=%s&id=%s&interval=%d&boot=%d HTTP/1.1\\r\\nHost: %.*s\\r\\n"
    "Connection: close\\r\\n\\r\\n"
with the version written unescaped (MG_OTA_FIRMWARE_VERSION) and boot = MG_OTA_STATE_GET().
On MG_EV_HTTP_MSG it decides:
  - status != 200, body not JSON, $.version or $.url not a string, $.size not a number or <= 0
    -> "Bad metadata: <body>"
  - strcmp(version, own version) == 0 -> "Same version" (and s_autocommit_ok = true)
  - else it connects to url: s_firmware_fn sends "GET <uri> HTTP/1.1\\r\\nHost: ..\\r\\nConnection:
    close\\r\\n\\r\\n" and flashes only a 200 whose body length equals size ("Bad HTTP response").
mg_ota_poll(): a firmware in MG_OTA_FAILED (on trial) commits at the end of its window only when
s_autocommit_ok, else the watchdog rolls it back and it boots with MG_OTA_ROLLEDBACK.
"""
import json
import urllib.parse

from otaserver import raw_response

CONFIRMED, TESTING, FAILED, ROLLEDBACK = 0, 1, 2, 3  # src/ota.h
MG_ARCH = 1  # any MG_ARCH_* number; the client sends it as %d


def metadata_request(uri, host, version, dev_id, boot, interval=60):
    sep = "&" if "?" in uri else "?"
    return ("GET %s%sarch=%d&version=%s&id=%s&interval=%d&boot=%d HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
            % (uri, sep, MG_ARCH, version, dev_id, interval, boot, host)).encode()


def decide(status, body, own_version):
    """s_version_fn's decision on a metadata answer: ("bad", why) | ("same", None) | ("update", meta)."""
    if status != 200:
        return "bad", "status %s" % status
    try:
        m = json.loads(body)
    except ValueError:
        return "bad", "not JSON"
    if not isinstance(m, dict) or not isinstance(m.get("version"), str) or not isinstance(m.get("url"), str):
        return "bad", "version/url"
    size = m.get("size")
    if isinstance(size, bool) or not isinstance(size, (int, float)) or size <= 0:
        return "bad", "size <= 0"
    if m["version"] == own_version:
        return "same", None
    return "update", m


class Device:
    """A Mongoose device polling otakit: its version, boot state and commit window."""

    def __init__(self, port, uri, dev_id, version, boot=CONFIRMED):
        self.port, self.uri, self.id, self.version, self.boot = port, uri, dev_id, version, boot
        self.autocommit_ok = False
        self.flashed = None

    def poll(self):
        """One mg_ota_url_check(); returns the decision, downloading and flashing on an update."""
        st, body, _ = raw_response(self.port, metadata_request(self.uri, "127.0.0.1:%d" % self.port, self.version,
                                                               self.id, self.boot))
        kind, arg = decide(st, body, self.version)
        if kind == "same":
            self.autocommit_ok = True
        elif kind == "update":
            u = urllib.parse.urlsplit(arg["url"])
            path = u.path + ("?" + u.query if u.query else "")
            st, img, _ = raw_response(self.port, ("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
                                                  % (path, u.netloc)).encode())
            if st != 200 or len(img) != arg["size"]:
                return "bad", "Bad HTTP response: status %s, size %d vs %d" % (st, len(img), arg["size"])
            self.flashed = (arg["version"], img)
        return kind, arg

    def reboot_into(self, built_version):
        """mg_ota_end() set MG_OTA_TESTING; MG_OTA_BOOT_CHECK() turns it into MG_OTA_FAILED (on trial)."""
        self.previous, self.version, self.boot, self.autocommit_ok = self.version, built_version, FAILED, False

    def window_ends(self):
        """mg_ota_poll() at the end of MG_OTA_ROLLBACK_TIMEOUT_SECONDS: commit or roll back."""
        if self.boot != FAILED:
            return
        if self.autocommit_ok:
            self.boot = CONFIRMED
        else:  # watchdog reset in MG_OTA_FAILED: MG_OTA_BOOT_CHECK sets ROLLEDBACK and swaps back
            self.version, self.boot = self.previous, ROLLEDBACK
