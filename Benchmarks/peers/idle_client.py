#!/usr/bin/env python3
"""Idle keep-alive connections for the runner's RSS-per-connection figure.

    idle_client.py --port N --connections 19000
    idle_client.py --port N --connections 10000 --tls     (HTTPS: TLS 1.3, certificate not verified)

Opens the connections (in batches), sends one keep-alive GET on each, reads each response
(head and Content-Length body), then prints `ready <opened>` and holds every connection open
until standard input closes. One process stays under the per-process descriptor limit
(it raises its soft RLIMIT_NOFILE to the hard limit; 20,000 here).
"""
import argparse
import resource
import selectors
import socket
import sys
import time

REQ = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def complete(buf):
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return False
    length = 0
    for line in buf[:end].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    return len(buf) >= end + 4 + length


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--connections", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=200)
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--tls", action="store_true", help="HTTPS: a full handshake per connection")
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if a.connections > hard - 50:
        print(f"failed: {a.connections} connections need more than the descriptor limit {hard}", flush=True)
        return 1
    if a.tls:
        return hold_tls(a)
    sel = selectors.DefaultSelector()
    socks = []
    done = 0
    deadline = time.time() + a.timeout
    pending = {}
    while (len(socks) < a.connections or pending) and time.time() < deadline:
        # Open the next batch once the previous one has been answered.
        if not pending and len(socks) < a.connections:
            for _ in range(min(a.batch, a.connections - len(socks))):
                s = socket.create_connection((a.host, a.port))
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                s.sendall(REQ)
                s.setblocking(False)
                socks.append(s)
                pending[s.fileno()] = (s, bytearray())
                sel.register(s, selectors.EVENT_READ)
        for key, _ in sel.select(timeout=1.0):
            s, buf = pending[key.fd]
            data = s.recv(65536)
            if not data:
                print(f"failed: server closed a connection after {done} responses", flush=True)
                return 1
            buf += data
            if complete(buf):
                sel.unregister(s)
                del pending[key.fd]
                done += 1
    if pending or done < a.connections:
        print(f"failed: {done} of {a.connections} answered before the timeout", flush=True)
        return 1
    print(f"ready {done}", flush=True)
    sys.stdin.read()  # hold until the runner closes our stdin
    for s in socks:
        s.close()
    return 0


def hold_tls(a):
    """One connection at a time: handshake, one request, its response; then hold them all."""
    import ssl
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    socks = []
    deadline = time.time() + a.timeout
    try:
        while len(socks) < a.connections and time.time() < deadline:
            raw = socket.create_connection((a.host, a.port), timeout=10)
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s = context.wrap_socket(raw, server_hostname=a.host)
            s.sendall(REQ)
            buf = bytearray()
            while not complete(buf):
                data = s.recv(65536)
                if not data:
                    print(f"failed: server closed a connection after {len(socks)} responses", flush=True)
                    return 1
                buf += data
            socks.append(s)
    except OSError as e:
        print(f"failed: {e} after {len(socks)} connections", flush=True)
        return 1
    if len(socks) < a.connections:
        print(f"failed: {len(socks)} of {a.connections} answered before the timeout", flush=True)
        return 1
    print(f"ready {len(socks)}", flush=True)
    sys.stdin.read()
    for s in socks:
        s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
