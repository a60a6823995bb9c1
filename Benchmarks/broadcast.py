#!/usr/bin/env python3
"""Broadcast: one producer thread sending server-sent events to thousands of open responses.

Starts `bench-server sse` (pinned to CPU 0): every GET opens a `ResponseStream`, and a producer
thread writes one event to every open stream each --interval milliseconds, dropping a client whose
queue is full. A client process (pinned to CPU 1) opens N connections, asks each for /events, and
reads everything. Reported: the server's RSS per open stream (RSS with N streams open minus RSS
before, over N), and its CPU time per delivered event over the measured window (events counted
by the server's own `streams N events N dropped N` lines; the client checks that it received them).

    python3 Benchmarks/broadcast.py                               # 10,000 streams, 1 event/s each
    python3 Benchmarks/broadcast.py --streams 2000 --interval 100 --no-build

The server and the client each hold N descriptors: N must stay under the per-process limit
(20,000 here).
"""
import argparse
import json
import os
import re
import resource
import select
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
RELEASE = os.path.join(HERE, ".build", "release")
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def rss_bytes(pid):
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * PAGE


def client(port, streams, seconds, out):
    """The client side (a child process on CPU 1): opens the streams, reads for `seconds`."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, streams + 100), hard))
    epoll = select.epoll()
    socks = {}
    for _ in range(streams):
        s = socket.socket()
        s.connect(("127.0.0.1", port))
        s.sendall(b"GET /events HTTP/1.1\r\nHost: broadcast\r\n\r\n")
        s.setblocking(False)
        epoll.register(s.fileno(), select.EPOLLIN)
        socks[s.fileno()] = s
    print("open", flush=True)
    received = 0
    closed = 0
    deadline = time.time() + seconds
    while time.time() < deadline:
        for fd, _ in epoll.poll(0.5):
            try:
                data = socks[fd].recv(65536)
            except BlockingIOError:
                continue
            if not data:
                epoll.unregister(fd)
                closed += 1
                continue
            received += data.count(b"\ndata: ")
    with open(out, "w") as f:
        json.dump({"events_received": received, "closed_by_server": closed}, f)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--streams", type=int, default=10_000)
    ap.add_argument("--interval", type=int, default=1000, help="milliseconds between broadcasts")
    ap.add_argument("--event-size", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=10.0, help="the measured window")
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--client", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.client:
        port, out = a.client.split(":", 1)
        client(int(port), a.streams, a.seconds + 6, out)
        return 0
    if not a.no_build:
        subprocess.run(["swift", "build", "-c", "release", "--product", "bench-server"], cwd=HERE, check=True)
    server_bin = os.path.join(RELEASE, "bench-server")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(["taskset", "-c", "0", server_bin, "sse", "--port", str(port),
                               "--interval", str(a.interval), "--event-size", str(a.event_size)],
                              stdout=subprocess.PIPE, text=True)
    try:
        server.stdout.readline()  # the banner
        time.sleep(0.3)
        rss_before = rss_bytes(server.pid)
        out = f"/tmp/broadcast-client-{os.getpid()}.json"
        crowd = subprocess.Popen(["taskset", "-c", "1", sys.executable, __file__, "--streams", str(a.streams),
                                  "--seconds", str(a.seconds), "--client", f"{port}:{out}"],
                                 stdout=subprocess.PIPE, text=True)
        crowd.stdout.readline()  # "open"
        lines = []

        def report():
            line = server.stdout.readline()
            m = re.match(r"streams (\d+) events (\d+) dropped (\d+)", line)
            return tuple(int(x) for x in m.groups()) if m else None

        # Wait until the server sees every stream, then measure a window.
        for _ in range(60):
            r = report()
            if r and r[0] >= a.streams:
                break
        rss_open = rss_bytes(server.pid)
        start_ticks, start = cpu_ticks(server.pid), report()
        t0 = time.time()
        while time.time() - t0 < a.seconds:
            r = report()
            if r:
                lines.append(r)
        end_ticks, end = cpu_ticks(server.pid), lines[-1]
        crowd.wait()
        with open(out) as f:
            seen = json.load(f)
        os.unlink(out)
        events = end[1] - start[1]
        cpu_us = (end_ticks - start_ticks) / CLK_TCK * 1e6
        result = {
            "streams": a.streams, "interval_ms": a.interval, "event_size": a.event_size,
            "events_delivered": events, "dropped": end[2],
            "cpu_us_per_event": cpu_us / events if events else None,
            "rss_bytes_per_stream": (rss_open - rss_before) / a.streams,
            "client_events_received": seen["events_received"],
        }
        print(json.dumps(result, indent=2))
    finally:
        server.terminate()
        server.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
