#!/usr/bin/env python3
"""Instructions per keep-alive request, counted by callgrind.

Builds `bench-server` in release mode, starts it in `hello` mode under
`valgrind --tool=callgrind`, sends N sequential keep-alive requests on one connection, stops the
server (SIGTERM), and reads the instruction count. It does that for two request counts and
divides the difference by the difference of the counts, so that start-up, the accept and the
shutdown cancel out. Two figures are printed:

  connection  instructions collected only inside `HTTPConnection.bytesReceived` and what it calls
              (`--toggle-collect`): parsing, the handler, the response write (the writev call
              itself included, the kernel not);
  process     every user-space instruction of the process (the reactor's epoll_wait loop too).

    python3 Benchmarks/callgrind.py                      # build, then measure 2,000 and 12,000
    python3 Benchmarks/callgrind.py --no-build --counts 1000 5000
    python3 Benchmarks/callgrind.py --annotate            # also keep the outputs and print the
                                                          # hottest functions of the larger run

Each measurement is deterministic to within a few instructions per request: callgrind counts
instructions, not time, so the figure does not depend on the machine's load.
"""
import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.path.join(HERE, ".build", "release", "bench-server")
REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: callgrind\r\nAccept: */*\r\n\r\n"
# The method itself, not its protocol witness thunk (a second match would toggle collection off).
TOGGLE = "*HTTPConnectionC13bytesReceivedyySWF"


def build():
    subprocess.run(["swift", "build", "-c", "release", "--product", "bench-server"], cwd=HERE, check=True)


def read_response(sock, buffer):
    """Reads one response (head + Content-Length body) from `sock`; returns the leftover bytes."""
    while True:
        end = buffer.find(b"\r\n\r\n")
        if end >= 0:
            head = buffer[:end].decode("latin-1")
            match = re.search(r"(?im)^content-length:\s*(\d+)", head)
            total = end + 4 + (int(match.group(1)) if match else 0)
            if len(buffer) >= total:
                if not head.startswith("HTTP/1.1 200"):
                    sys.exit(f"unexpected response: {head!r}")
                return buffer[total:]
        chunk = sock.recv(65536)
        if not chunk:
            sys.exit("the server closed the connection")
        buffer += chunk


def malloc_calls(path):
    """Calls to malloc (and calloc, realloc) recorded in a callgrind output file."""
    names, total, callee = {}, 0, None
    with open(path) as f:
        for line in f:
            if line.startswith("cfn="):
                ref = line[4:].strip()
                if ref.startswith("("):
                    ident, _, name = ref.partition(")")
                    if name.strip():
                        names[ident] = name.strip()
                    callee = names.get(ident, "")
                else:
                    callee = ref
            elif line.startswith("fn="):
                ref = line[3:].strip()
                if ref.startswith("("):
                    ident, _, name = ref.partition(")")
                    if name.strip():
                        names[ident] = name.strip()
                callee = None
            elif line.startswith("calls=") and callee is not None:
                if callee.split()[0] in ("malloc", "calloc", "realloc"):
                    total += int(line[6:].split()[0])
                callee = None
    return total


def measure(requests, toggle, keep_output=None, mode="hello", mallocs=None):
    """Runs the server under callgrind for `requests` keep-alive requests; returns Ir collected
    (and, with `mallocs` a list, appends the malloc calls recorded)."""
    with tempfile.TemporaryDirectory() as scratch:
        out = keep_output or os.path.join(scratch, "callgrind.out")
        command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"]
        if toggle:
            command.append(f"--toggle-collect={TOGGLE}")
        # Valgrind 3.19 cannot read the DWARF 5 the toolchain writes: measure a copy without debug
        # information (callgrind names functions from the symbol table).
        server_copy = os.path.join(scratch, "bench-server")
        subprocess.run(["objcopy", "--strip-debug", SERVER, server_copy], check=True)
        command += [server_copy] + mode.split() + ["--port", "0"]
        server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            line = server.stdout.readline()
            match = re.search(r" on (.+):(\d+)", line)
            if not match:
                sys.exit(f"bench-server did not start: {line!r}")
            sock = socket.create_connection((match.group(1), int(match.group(2))))
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            leftover = b""
            for _ in range(requests):
                sock.sendall(REQUEST)
                leftover = read_response(sock, leftover)
            sock.close()
            time.sleep(0.2)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=120)
        if mallocs is not None:
            mallocs.append(malloc_calls(out))
        with open(out) as f:
            for line in f:
                if line.startswith("summary:") or line.startswith("totals:"):
                    return int(line.split()[1])
        sys.exit("no totals in the callgrind output")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--no-build", action="store_true", help="reuse Benchmarks/.build/release")
    parser.add_argument("--counts", type=int, nargs=2, default=[2000, 12000], metavar=("SMALL", "LARGE"))
    parser.add_argument("--mode", default="hello",
                        help="bench-server's mode and options, e.g. 'async-hello' or 'hello --threads 4' "
                             "(worker threads count under 'process' only)")
    parser.add_argument("--annotate", action="store_true",
                        help="keep callgrind.out.connection in the current directory and print its top functions")
    args = parser.parse_args()
    if not args.no_build:
        build()
    small, large = args.counts
    results = {}
    for name, toggle in (("connection", True), ("process", False)):
        keep = os.path.abspath(f"callgrind.out.{name}") if args.annotate else None
        mallocs = []
        low = measure(small, toggle, mode=args.mode, mallocs=mallocs)
        high = measure(large, toggle, keep, mode=args.mode, mallocs=mallocs)
        results[name] = (high - low) / (large - small)
        print(f"{name:<10} {results[name]:10.1f} instructions per keep-alive request "
              f"({low:,} Ir for {small:,}, {high:,} Ir for {large:,}); "
              f"{(mallocs[1] - mallocs[0]) / (large - small):.2f} mallocs per request", flush=True)
    if args.annotate:
        subprocess.run(["callgrind_annotate", "--inclusive=no", "--threshold=99",
                        os.path.abspath("callgrind.out.connection")])


if __name__ == "__main__":
    main()
