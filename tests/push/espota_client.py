"""The host side of ArduinoOTA, following esp8266/Arduino tools/espota.py serve() (checked at
f946290e) byte for byte: the invitation "%d %d %d %s\\n" % (command, host_port, size, md5) by UDP,
the MD5 challenge answer "%d %s %s\\n" % (200, cnonce, md5(md5(password):nonce:cnonce)) with
cnonce = md5(filename + size + md5 + device address), then the image over the TCP connection the
device opens: 1460-byte chunks, each followed by a recv(32) of the device's acknowledgement, and
a final wait for a text with "O" (OK) or "E" (error). Returns (exit status as espota.py's main
would give, [log lines]); acks is the list of acknowledgement texts received."""
import hashlib
import socket

FLASH, SPIFFS, AUTH = 0, 100, 200


def upload(device_ip, device_port, filename, password="", command=FLASH, host_ip="127.0.0.1", chunk=1460):
    log, acks = [], []
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((host_ip, 0))
    sock.listen(1)
    local_port = sock.getsockname()[1]
    data = open(filename, "rb").read()
    content_size, file_md5 = len(data), hashlib.md5(data).hexdigest()
    message = "%d %d %d %s\n" % (command, local_port, content_size, file_md5)
    sock2 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    remote = (device_ip, int(device_port))
    sock2.sendto(message.encode(), remote)
    sock2.settimeout(10)
    try:
        reply = sock2.recv(128).decode()
    except Exception:
        log.append("No Answer")
        return 1, log, acks
    if reply != "OK":
        if reply.startswith("AUTH"):
            nonce = reply.split()[1]
            cnonce = hashlib.md5(("%s%u%s%s" % (filename, content_size, file_md5, device_ip)).encode()).hexdigest()
            passmd5 = hashlib.md5(password.encode()).hexdigest()
            result = hashlib.md5(("%s:%s:%s" % (passmd5, nonce, cnonce)).encode()).hexdigest()
            sock2.sendto(("%d %s %s\n" % (AUTH, cnonce, result)).encode(), remote)
            sock2.settimeout(10)
            try:
                reply = sock2.recv(32).decode()
            except Exception:
                log.append("No Answer to our Authentication")
                return 1, log, acks
            if reply != "OK":
                log.append(reply)
                return 1, log, acks
        else:
            log.append("Bad Answer: " + reply)
            return 1, log, acks
    sock2.close()
    try:
        sock.settimeout(10)
        conn, _ = sock.accept()
        conn.settimeout(None)
    except Exception:
        log.append("No response from device")
        return 1, log, acks
    try:
        for off in range(0, content_size, chunk):
            conn.settimeout(10)
            try:
                conn.sendall(data[off:off + chunk])
                acks.append(conn.recv(32).decode())
            except Exception:
                log.append("Error Uploading")
                return 1, log, acks
        conn.settimeout(60)
        ok = err = False
        # The result may come in the same read as the last acknowledgement (the device sends it
        # right after; a busy host reads both at once): what follows its digits is the result.
        pending = acks[-1].lstrip("0123456789") if acks else ""
        if pending:
            acks[-1] = acks[-1][:-len(pending)]
        try:
            while not (ok or err):
                r, pending = pending or conn.recv(64).decode(), ""
                if r.find("E") >= 0:
                    log.append(r)
                    err = True
                elif r.find("O") >= 0:
                    log.append("Result: OK")
                    ok = True
                elif r == "":  # espota.py would spin here forever; a test stops
                    # what the device sent last tells a connection it dropped early from a lost result
                    log.append("closed without a result (after %d chunks; last acknowledgements %r)" % (
                        -(-content_size // chunk), "".join(acks)[-40:]))
                    return 1, log, acks
                else:
                    acks.append(r)
        except Exception as e:
            log.append("No Result!")
            log.append(repr(e))
            return 1, log, acks
        return (0 if ok else 1), log, acks
    finally:
        conn.close()
        sock.close()
