#!/usr/bin/env python3
"""Mass events: thousands of connections that arrive at once, then leave at once.

Starts `bench-server hello --stall-probe` (pinned to CPU 0), a steady client (`bench -c 1`, pinned
to CPU 1) that keeps requesting throughout, and a crowd process that opens N connections at once
(nonblocking connects fired in one burst, each sending one keep-alive request and then staying
idle), holds them, and is then killed, so that the kernel closes all N sockets at the same moment.
Reported per phase: the loop's longest stall (the server's 1 ms probe timer: how late it fired at
worst) and the steady client's latency percentiles.

    python3 Benchmarks/mass_events.py                       # 15,000 connections
    python3 Benchmarks/mass_events.py --connections 5000 --no-build

The server and the crowd each hold N descriptors: N must stay under the per-process limit
(20,000 here). The kernel's accept queue (net.core.somaxconn, 4096 here) is smaller than a burst
of 15,000: connects beyond it are retried by TCP (SYN retransmission after 1 s), as they would be
against any server.
"""
import argparse
import json
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
RELEASE = os.path.join(HERE, ".build", "release")
REQUEST = b"GET / HTTP/1.1\r\nHost: crowd\r\n\r\n"


def build():
    for product in ("bench-server", "bench"):
        subprocess.run(["swift", "build", "-c", "release", "--product", product], cwd=HERE, check=True)


def raise_fd_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def crowd(port, count, ready_path):
    """The crowd process: opens `count` connections at once, sends one request on each, reads the
    answers, writes `ready_path`, then sleeps until killed."""
    raise_fd_limit()
    socks = []
    started = time.monotonic()
    for _ in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        socks.append(s)
    pending = {s.fileno(): s for s in socks}
    answered = 0
    import selectors
    sel = selectors.DefaultSelector()
    for s in socks:
        sel.register(s, selectors.EVENT_WRITE)
    sent = set()
    deadline = time.monotonic() + 60
    while answered < count and time.monotonic() < deadline:
        for key, mask in sel.select(timeout=1):
            s = key.fileobj
            if mask & selectors.EVENT_WRITE and s.fileno() not in sent:
                try:
                    s.send(REQUEST)
                except OSError:
                    sel.unregister(s)
                    continue
                sent.add(s.fileno())
                sel.modify(s, selectors.EVENT_READ)
            elif mask & selectors.EVENT_READ:
                try:
                    data = s.recv(4096)
                except OSError:
                    data = b""
                sel.unregister(s)
                if data.startswith(b"HTTP/1.1 200"):
                    answered += 1
    with open(ready_path, "w") as f:
        json.dump({"connections": count, "answered": answered, "seconds": time.monotonic() - started}, f)
    while True:
        time.sleep(3600)


class Server:
    def __init__(self, binary):
        self.process = subprocess.Popen(["taskset", "-c", "0", binary, "hello", "--port", "0", "--stall-probe"],
                                        stdout=subprocess.PIPE, text=True, preexec_fn=raise_fd_limit)
        line = self.process.stdout.readline()
        match = re.search(r" on (.+):(\d+)", line)
        if not match:
            sys.exit(f"bench-server did not start: {line!r}")
        self.port = int(match.group(2))
        self.stalls = []  # (monotonic time, worst stall in ms over the second before)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.process.stdout:
            if line.startswith("stall "):
                self.stalls.append((time.monotonic(), float(line.split()[1])))

    def worst_stall(self, start, end):
        # A line covers the second before it.
        values = [ms for t, ms in self.stalls if start < t <= end + 1.05]
        return max(values) if values else None

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=30)


def steady_client(bench, port, seconds):
    """Runs `bench -c 1` for `seconds`, pinned to CPU 1; returns its JSON."""
    out = subprocess.run(["taskset", "-c", "1", bench, "--port", str(port), "-c", "1", "--duration", str(seconds),
                          "--warmup", "0", "--timeout", "30", "--json"], capture_output=True, text=True)
    for line in out.stdout.splitlines():
        if line.startswith("{"):
            return json.loads(line)
    sys.exit(f"bench printed no JSON: {out.stdout[-500:]} {out.stderr[-500:]}")


def phase(name, server, bench, seconds, action, delay=1.0):
    """Runs the steady client for `seconds`; `action` starts `delay` seconds in."""
    result = {}
    client = threading.Thread(target=lambda: result.update(steady_client(bench, server.port, seconds)))
    start = time.monotonic()
    client.start()
    time.sleep(delay)
    extra = action() if action else None
    client.join()
    end = time.monotonic()
    latency = result["latency_us"]
    row = {"phase": name, "stall_ms": server.worst_stall(start, end), "requests": result["requests"],
           "p50_ms": latency["p50"] / 1000, "p99_ms": latency["p99"] / 1000, "max_ms": latency["max"] / 1000,
           "errors": sum(result["errors"].values())}
    if extra:
        row.update(extra)
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", type=int, default=15000)
    parser.add_argument("--seconds", type=float, default=8, help="steady client time per phase")
    parser.add_argument("--no-build", action="store_true")
    parser.add_argument("--json", help="write the rows to this file")
    args = parser.parse_args()
    if not args.no_build:
        build()
    bench = os.path.join(RELEASE, "bench")
    server = Server(os.path.join(RELEASE, "bench-server"))
    ready = f"/tmp/mass-events-ready-{os.getpid()}"
    crowd_process = None
    rows = []
    try:
        rows.append(phase("quiet", server, bench, args.seconds, None))

        def connect_all():
            nonlocal crowd_process
            crowd_process = subprocess.Popen(["taskset", "-c", "1", sys.executable, __file__, "--crowd",
                                              str(server.port), str(args.connections), ready])
            deadline = time.monotonic() + 90
            while not os.path.exists(ready) and time.monotonic() < deadline:
                time.sleep(0.1)
            with open(ready) as f:
                return json.load(f)

        rows.append(phase(f"{args.connections:,} connect at once", server, bench, args.seconds + 20, connect_all))

        def close_all():
            crowd_process.send_signal(signal.SIGKILL)
            crowd_process.wait()
            return None

        rows.append(phase(f"{args.connections:,} close at once", server, bench, args.seconds, close_all))
        rows.append(phase("quiet again", server, bench, args.seconds, None))
    finally:
        if crowd_process and crowd_process.poll() is None:
            crowd_process.kill()
        if os.path.exists(ready):
            os.unlink(ready)
        server.stop()
    print(f"{'phase':<28} {'loop stall':>10} {'p50':>8} {'p99':>8} {'max':>8} {'requests':>9} {'errors':>6}")
    for row in rows:
        stall = "-" if row["stall_ms"] is None else f"{row['stall_ms']:.1f} ms"
        print(f"{row['phase']:<28} {stall:>10} {row['p50_ms']:>6.2f}ms {row['p99_ms']:>6.2f}ms "
              f"{row['max_ms']:>6.1f}ms {row['requests']:>9} {row['errors']:>6}"
              + (f"   (crowd: {row['answered']:,} of {row['connections']:,} answered in {row['seconds']:.1f} s)"
                 if "answered" in row else ""))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--crowd":
        crowd(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
    else:
        main()
