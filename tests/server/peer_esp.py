"""The ESP8266 and ESP32 Arduino HTTP update clients, re-implemented for the tests: the requests
they send and their decisions on the answer.

ESP8266: esp8266/Arduino libraries/ESP8266httpUpdate/src/ESP8266httpUpdate.cpp (checked at f946290e,
2026-03-23): handleUpdate() and getAvailableVersion(); the request head is built by
libraries/ESP8266HTTPClient/src/ESP8266HTTPClient.cpp sendHeader() (useHTTP10(true): "HTTP/1.0",
no Accept-Encoding, "Connection: close"), then the addHeader() lines in their order.
ESP32: espressif/arduino-esp32 libraries/HTTPUpdate/src/HTTPUpdate.cpp handleUpdate() (checked at
c2ad6750 and the older 0596a2ac): "x-ESP32-sketch-md5" only when ESP.getSketchMD5() is known (never
in 0596a2ac), "x-ESP32-sketch-sha256" (uppercase hex) when the running partition's hash is known.
"""
from otaserver import raw_exchange

# HTTPUpdateResult / _lastError names (ESP8266httpUpdate.h)
OK, NO_UPDATES, FAILED = "HTTP_UPDATE_OK", "HTTP_UPDATE_NO_UPDATES", "HTTP_UPDATE_FAILED"


def magic_flash_chip_size(nibble):
    """EspClass::magicFlashChipSize() (cores/esp8266/Esp.cpp)."""
    kb = {0: 512, 1: 256, 2: 1024, 3: 2048, 4: 4096, 8: 8192, 9: 16384}.get(nibble & 0x0F)
    return kb * 1024 if kb else 0


class Esp:
    """One device: what it runs and reports."""

    def __init__(self, chip="ESP8266", mac="18:FE:AA:AA:AA:AA", version=None, free_space=700000,
                 sketch_size=300000, sketch_md5="0" * 32, sketch_sha256=None, chip_size=4194304,
                 chip_id="1234567", sdk="2.2.2-dev(38a443e)"):
        self.chip, self.mac, self.version = chip, mac, version
        self.free_space, self.sketch_size, self.sketch_md5 = free_space, sketch_size, sketch_md5
        self.sketch_sha256, self.chip_size, self.chip_id, self.sdk = sketch_sha256, chip_size, chip_id, sdk

    def request(self, uri, host, port, mode="sketch"):
        """The request head handleUpdate() (mode sketch/spiffs) or getAvailableVersion() (mode
        version) sends."""
        hostport = host if port in (80, 443) else "%s:%d" % (host, port)
        p = "x-%s-" % self.chip
        if self.chip == "ESP8266":
            head = "GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: ESP8266-http-Update\r\nConnection: close\r\n" % (
                uri, hostport)
            h = [("x-ESP8266-Chip-ID", self.chip_id)]
        else:
            head = "GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: ESP32-http-Update\r\nConnection: close\r\n" % (
                uri, hostport)
            h = [("Cache-Control", "no-cache")]
        h += [(p + "STA-MAC", self.mac), (p + "AP-MAC", self.mac), (p + "free-space", str(self.free_space)),
              (p + "sketch-size", str(self.sketch_size))]
        if self.chip == "ESP8266" or self.sketch_md5:
            h.append((p + "sketch-md5", self.sketch_md5))
        if self.chip == "ESP32" and self.sketch_sha256:
            h.append((p + "sketch-sha256", self.sketch_sha256))
        h += [(p + "chip-size", str(self.chip_size)), (p + "sdk-version", self.sdk), (p + "mode", mode)]
        if self.version:
            h.append((p + "version", self.version))
        return (head + "".join("%s: %s\r\n" % kv for kv in h) + "\r\n").encode()

    def exchange(self, port, uri, mode="sketch"):
        data = self.request(uri, "127.0.0.1", port, mode)
        sock_answer = raw_answer(port, data)
        return sock_answer

    def update(self, port, uri):
        """handleUpdate(): (result, error or None, status line version, image or None)."""
        status_line, st, hdr, body = self.exchange(port, uri)
        return decide_update(self, st, hdr, body) + (status_line.split(" ")[0],)

    def available_version(self, port, uri):
        """getAvailableVersion(): (result, error or available version)."""
        _, st, hdr, _ = self.exchange(port, uri, mode="version")
        if st == 200:
            if "x-version" in hdr:
                return OK, hdr["x-version"]
            return FAILED, "HTTP_UE_SERVER_NOT_REPORT_VERSION"
        return FAILED, {404: "HTTP_UE_SERVER_FILE_NOT_FOUND", 403: "HTTP_UE_SERVER_FORBIDDEN",
                        401: "HTTP_UE_SERVER_UNAUTHORIZED"}.get(st, "HTTP_UE_SERVER_WRONG_HTTP_CODE")


def raw_answer(port, data):
    """(status line, status, {lowercase header: value}, body) of the answer to data."""
    line, st, body, hdr = raw_exchange(port, data)
    return line, st, hdr, body


def decide_update(dev, st, hdr, body):
    """ESP8266HTTPUpdate::handleUpdate() / HTTPUpdate::handleUpdate() after http.GET():
    returns (result, error, image)."""
    te = hdr.get("transfer-encoding")
    if te and te.lower() != "chunked":
        return FAILED, "HTTPC_ERROR_ENCODING", None
    if st == 200:
        length = int(hdr.get("content-length", "-1"))
        if te or length <= 0:  # the updater writes getSize() bytes; chunked gives -1
            return FAILED, "HTTP_UE_SERVER_NOT_REPORT_SIZE", None
        if length > dev.free_space:
            return FAILED, "HTTP_UE_TOO_LESS_SPACE", None
        if len(body) < 4:
            return FAILED, "HTTP_UE_BIN_VERIFY_HEADER_FAILED", None
        if body[0] != 0xE9 and not (dev.chip == "ESP8266" and body[0] == 0x1F):
            return FAILED, "HTTP_UE_BIN_VERIFY_HEADER_FAILED", None
        if dev.chip == "ESP8266" and body[0] == 0xE9 and magic_flash_chip_size(body[3] >> 4) > dev.chip_size:
            return FAILED, "HTTP_UE_BIN_FOR_WRONG_FLASH", None
        md5 = hdr.get("x-md5", "")
        if md5 and len(md5) != 32:  # UpdaterClass::setMD5
            return FAILED, "HTTP_UE_SERVER_FAULTY_MD5", None
        if len(body) != length:
            return FAILED, "UPDATE_ERROR_STREAM", None
        import hashlib
        if md5 and hashlib.md5(body).hexdigest() != md5.lower():
            return FAILED, "UPDATE_ERROR_MD5", None
        return OK, None, body
    if st == 304:
        return NO_UPDATES, None, None
    return FAILED, {404: "HTTP_UE_SERVER_FILE_NOT_FOUND", 403: "HTTP_UE_SERVER_FORBIDDEN",
                    401: "HTTP_UE_SERVER_UNAUTHORIZED"}.get(st, "HTTP_UE_SERVER_WRONG_HTTP_CODE"), None
