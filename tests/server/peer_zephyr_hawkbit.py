"""Zephyr's hawkBit client (zephyrproject-rtos/zephyr subsys/mgmt/hawkbit/hawkbit.c, hawkbit_probe()
and send_request(); include/zephyr/mgmt/hawkbit.h HAWKBIT_JSON_URL), replayed byte for byte over a
socket: the requests it sends and the checks it makes on the answers.

- Every request: "<METHOD> <url> HTTP/1.1", Host, "Authorization: TargetToken <token>" (or
  GatewayToken with CONFIG_HAWKBIT_DDI_GATEWAY_SECURITY); POST/PUT bodies with
  "Content-Type: application/json;charset=UTF-8" and Content-Length (Zephyr's http_client).
- Any status but 200 is an error (response_cb). A JSON answer's Content-Length must equal the
  bytes received.
- Probe: GET /default/controller/v1/<BOARD>-<device id>; a cancelAction link is acknowledged
  with POST <JSON_URL>/<id>/cancelAction/<n>/feedback {"id","time","status":{closed,success}}
  without fetching it; a configData link gets PUT {"mode":"merge","data":{"VIN","hwRevision"},...}.
- deploymentBase: the href from "deploymentBase/" on (query included) under its own JSON_URL.
  hawkbit_parse_deployment(): exactly one chunk, part "bApp", exactly one artifact, a sha256 of
  64 hex digits, size an integer no larger than slot 1, and a download-http href containing
  "/DEFAULT/controller/v1", of which the path from there on is fetched.
- After flashing and a reboot into the update, the next probe offering the same action id (kept
  in NVS) sends POST .../deploymentBase/<id>/feedback {"id","status":{closed,success}}.
"""
import hashlib
import json
import re

from otaserver import raw_exchange

JSON_URL = "/default/controller/v1"
CONTENT_TYPE = "application/json;charset=UTF-8"


class ZephyrError(Exception):
    """What hawkbit_probe() would return instead of installing (METADATA_ERROR, ...)."""


class Device:
    def __init__(self, port, board, device_id, token, gateway=False, slot_size=1 << 20):
        self.port, self.board, self.device_id = port, board, device_id
        self.auth = ("GatewayToken " if gateway else "TargetToken ") + token
        self.slot_size = slot_size
        self.nvs_action = None  # hawkbit_device_acid_update()
        self.slot1 = None       # what flash_img_buffered_write() wrote
        self.pending = False    # boot_request_upgrade(BOOT_UPGRADE_TEST)
        self.log = []

    @property
    def controller(self):
        return "%s-%s" % (self.board, self.device_id)

    def request(self, method, url, body=None):
        head = "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAuthorization: %s\r\n" % (method, url, self.port, self.auth)
        data = b""
        if body is not None:
            data = json.dumps(body, separators=(",", ":")).encode()
            head += "Content-Type: %s\r\nContent-Length: %d\r\n" % (CONTENT_TYPE, len(data))
        _, status, rbody, headers = raw_exchange(self.port, (head + "\r\n").encode() + data)
        self.log.append((method, url, status))
        if status != 200:
            raise ZephyrError("HTTP request denied (%s %s): %s %r" % (method, url, status, rbody[:200]))
        if "content-length" in headers and int(headers["content-length"]) != len(rbody):
            raise ZephyrError("HTTP response len mismatch")
        return rbody

    def probe(self):
        """One hawkbit_probe(); returns what it returns: no_update, cancel, ok, installed."""
        base = json.loads(self.request("GET", "%s/%s" % (JSON_URL, self.controller)))
        sleep = base.get("config", {}).get("polling", {}).get("sleep", "")
        if not re.fullmatch(r"\d\d:\d\d:\d\d", sleep):
            raise ZephyrError("Invalid poll sleep: %r" % sleep)
        links = base.get("_links", {})
        if "cancelAction" in links:
            href = links["cancelAction"]["href"]
            cancel_base = href[href.index("cancelAction/"):]
            action = int(cancel_base.split("/")[1])
            self.request("POST", "%s/%s/%s/feedback" % (JSON_URL, self.controller, cancel_base),
                         {"id": str(action), "time": "", "status": {"execution": "closed",
                                                                    "result": {"finished": "success"}}})
            return "cancel"
        if "configData" in links:
            self.request("PUT", "%s/%s/configData" % (JSON_URL, self.controller),
                         {"mode": "merge", "data": {"VIN": self.device_id, "hwRevision": "3"}, "id": "", "time": "",
                          "status": {"execution": "closed", "result": {"finished": "success"}}})
        if "deploymentBase" not in links:
            return "no_update"
        href = links["deploymentBase"]["href"]
        dep_base = href[href.index("deploymentBase/"):]
        if len(dep_base) > 49:
            raise ZephyrError("deploymentBase too big")
        dep = json.loads(self.request("GET", "%s/%s/%s" % (JSON_URL, self.controller, dep_base)))
        action = int(dep["id"])
        chunks = dep["deployment"]["chunks"]
        if len(chunks) != 1 or chunks[0]["part"] != "bApp" or len(chunks[0]["artifacts"]) != 1:
            raise ZephyrError("bad deployment: %r" % dep)
        art = chunks[0]["artifacts"][0]
        sha256 = bytes.fromhex(art["hashes"]["sha256"])
        if len(sha256) != 32 or not isinstance(art["size"], int) or art["size"] > self.slot_size:
            raise ZephyrError("bad artifact: %r" % art)
        dl = art["_links"]["download-http"]["href"]
        if "/DEFAULT/controller/v1" not in dl:
            raise ZephyrError("Unexpected download-http href format: %s" % dl)
        dl = dl[dl.index("/DEFAULT/controller/v1"):]
        if self.nvs_action == action:  # "Preventing repeated attempt to install"
            self.request("POST", "%s/%s/deploymentBase/%d/feedback" % (JSON_URL, self.controller, action),
                         {"id": str(action), "status": {"execution": "closed", "result": {"finished": "success"}}})
            return "ok"
        image = self.request("GET", dl)
        if hashlib.sha256(image).digest() != sha256:
            raise ZephyrError("Failed to validate stored firmware")
        self.slot1, self.pending, self.nvs_action = image, True, action
        return "installed"
