#!/usr/bin/env python3
"""Holds N devices polling at once: N keep-alive connections, each sends a device check and keeps
its connection open, 200 devices to a loopback source address (127.0.0.2, .3, ...). Prints how many
were answered and the server's memory per held connection.

usage: hold.py PORT DEVICE_TOKEN SERVER_PID N
"""
import selectors
import socket
import sys
import time


def rss_kb(pid):
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def main():
    port, token, pid, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    req = ("GET /api/v1/device/check?version=1.0.0&slot=0 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
           "Authorization: Bearer %s\r\n\r\n" % token).encode()
    before = rss_kb(pid)
    sel = selectors.DefaultSelector()
    socks, answered = [], 0
    t0 = time.time()
    for i in range(n):
        s = socket.socket()
        # Devices come from many addresses; the server holds at most 256 connections from one
        # (--max-connections-per-ip), so spread them over 127.0.0.2, .3, ... 200 to an address.
        s.bind(("127.0.0.%d" % (2 + i // 200), 0))
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        socks.append(s)
        sel.register(s, selectors.EVENT_WRITE, i)
    pending_write = set(range(n))
    got = [b""] * n
    deadline = time.time() + 60
    while (pending_write or answered < n) and time.time() < deadline:
        for key, ev in sel.select(timeout=1):
            s, i = key.fileobj, key.data
            if ev & selectors.EVENT_WRITE and i in pending_write:
                try:
                    s.send(req)
                except OSError:
                    continue
                pending_write.discard(i)
                sel.modify(s, selectors.EVENT_READ, i)
            elif ev & selectors.EVENT_READ:
                try:
                    data = s.recv(65536)
                except OSError:
                    data = b""
                got[i] += data
                if b"\r\n\r\n" in got[i]:
                    if got[i].startswith(b"HTTP/1.1 200"):
                        answered += 1
                    sel.unregister(s)  # keep the socket open: the device holds its connection
    elapsed = time.time() - t0
    time.sleep(0.5)
    after = rss_kb(pid)
    print("held %d connections (%d answered 200) in %.1f s; server RSS %d -> %d KiB: %.1f KiB per held device"
          % (n, answered, elapsed, before, after, (after - before) / max(n, 1)))
    for s in socks:
        s.close()


if __name__ == "__main__":
    main()
