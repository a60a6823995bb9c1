#!/usr/bin/env python3
"""The benchmark runner: our server and its peers, side by side, on this machine, in one run.

    python3 Benchmarks/run.py                       # everything available, default settings
    python3 Benchmarks/run.py --scenarios ka64,pipe16 --servers ours,nginx,nio --rounds 5
    python3 Benchmarks/run.py --reactors 1,2         # only: hello with bench-server --reactors 1
                                                     # against 2 (Benchmarks/reactors.py)

Each server runs pinned to core 0 (taskset), the load generator pinned to core 1. Rounds are
interleaved (A B C A B C ...). Per run it records the server's CPU time from /proc/PID/stat
(utime+stime) divided by the requests completed -- CPU microseconds per request, the headline
figure, which does not depend on whether the client keeps up -- its RSS from /proc/PID/status,
and req/s. A separate short run per scenario counts the server's syscalls per request with
`perf stat -e raw_syscalls:sys_enter -p PID` (strace -c -f when perf is missing).
It prints a table while it runs and writes results/<stamp>/results.json and chart.svg.
"""
import argparse
import datetime
import json
import math
import re
import os
import shutil
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CLK_TCK = os.sysconf("SC_CLK_TCK")
SERVER_CPU = "0"
LOAD_CPU = "1"

SCENARIOS = {
    # name: (description, connections, pipeline depth, extra)
    "ka1": dict(short="keep-alive, 1 conn", title="keep-alive, 1 connection", conns=1, mode="hello"),
    "ka64": dict(short="keep-alive, 64 conns", title="keep-alive, 64 connections", conns=64, mode="hello"),
    "ka256": dict(short="keep-alive, 256 conns", title="keep-alive, 256 connections", conns=256, mode="hello"),
    "pipe16": dict(short="pipelined x16, 64 conns", title="pipelined x16, 64 connections", conns=64, pipeline=16, mode="hello"),
    "close32": dict(short="Connection: close, 32", title="Connection: close, 32 connections", conns=32, close=True, mode="hello"),
    "post4k": dict(short="POST 4 KiB, 64 conns", title="POST 4 KiB, Expect: 100-continue, 64 connections", conns=64, post=4096,
                   expect=True, mode="hello"),
    "static1m": dict(short="static 1 MiB, 8 conns", title="static 1 MiB file, 8 connections", conns=8, path="/static/1M.bin",
                     mode="static", size=1 << 20),
    "static1g": dict(short="static 1 GiB, 1 conn", title="static 1 GiB file, 1 connection", conns=1, path="/static/1G.bin",
                     mode="static", size=1 << 30, min_duration=6),
    "idle": dict(short="idle connections", title="idle keep-alive connections: RSS growth per connection", mode="hello"),
    # HTTPS (issue 13): ours (bench-server --tls-cert) and nginx, the same ECDSA P-256 certificate
    # made for the run, TLS 1.2/1.3 with the same cipher lists; the negotiated suite is recorded.
    "tls-ka64": dict(short="TLS keep-alive, 64 conns", title="HTTPS keep-alive, 64 connections", conns=64,
                     mode="hello", tls=True),
    "tls-handshake": dict(short="TLS full handshake + 1 request", title="HTTPS: a full handshake and one request "
                          "per connection (openssl s_time -new, 4 in parallel)", conns=4, mode="hello", tls=True,
                          handshake=True, min_duration=4),
    "tls-static1m": dict(short="TLS static 1 MiB, 8 conns", title="HTTPS static 1 MiB file, 8 connections", conns=8,
                         path="/static/1M.bin", mode="static", size=1 << 20, tls=True),
    "tls-idle": dict(short="idle TLS connections", title="idle HTTPS keep-alive connections: RSS growth per connection",
                     mode="hello", tls=True),
    # Handlers that block or await (issue 12). `blocking`: 10 ms of usleep per request, on
    # ThreadingHTTPServer's 64 workers (ours), inline on one reactor (ours-inline), on CPython's
    # ThreadingHTTPServer (python-threading). `async`: an async handler awaiting a 10 ms sleep.
    "blocking64": dict(short="blocking 10 ms, 64 conns", title="a handler that blocks 10 ms, 64 connections",
                       conns=64, mode="blocking"),
    "async64": dict(short="async sleep 10 ms, 64 conns", title="an async handler awaiting a 10 ms sleep, "
                    "64 connections", conns=64, mode="async"),
    "async1000": dict(short="async sleep 10 ms, 1000 conns", title="an async handler awaiting a 10 ms sleep, "
                      "1,000 connections", conns=1000, mode="async"),
    "async64-task-sleep": dict(short="async Task.sleep 10 ms, 64 conns", title="an async handler awaiting "
                               "Task.sleep(10 ms) (the global executor's timers), 64 connections", conns=64,
                               mode="async-task-sleep"),
    # The cost of each path for the same hello: inline is `ka64`.
    "ka64-pool": dict(short="keep-alive 64, worker pool", title="keep-alive, 64 connections, hello on the "
                      "worker pool (ThreadingHTTPServer, 64 threads)", conns=64, mode="hello-threads"),
    "ka64-async": dict(short="keep-alive 64, async", title="keep-alive, 64 connections, hello from an async "
                       "handler that never suspends", conns=64, mode="async-hello"),
}
TLS_SERVERS = {"ours", "nginx"}
IDLE_SCENARIOS = ("idle", "tls-idle")
DEFAULT_SCENARIOS = "ka1,ka64,ka256,pipe16,close32,post4k,static1m,static1g,idle"

SERVERS = {
    # name: label, modes it can serve
    "ours": dict(label="swift-http-server", modes={"hello", "static", "blocking", "async", "async-hello", "async-task-sleep",
                                                   "hello-threads"}),
    # HTTPServer with the blocking handler inline on its reactor: what ThreadingHTTPServer is for.
    "ours-inline": dict(label="swift-http-server HTTPServer (inline)", modes={"blocking"}),
    # The same with swift-metrics bootstrapped (swift-prometheus): the cost of metrics.
    "ours-metrics": dict(label="swift-http-server + metrics", modes={"hello"}),
    "nginx": dict(label="nginx 1 worker", modes={"hello", "static"}),
    "nio": dict(label="SwiftNIO 1 loop", modes={"hello"}),
    # Hummingbird 2 never sends 100 Continue: the client would wait out its fallback delay.
    "hummingbird": dict(label="Hummingbird 2", modes={"hello"}, no_expect=True),
    "python-threading": dict(label="Python ThreadingHTTPServer", modes={"hello", "static", "blocking"}),
    "python": dict(label="Python HTTPServer", modes={"hello", "static"}),
}
DEFAULT_SERVERS = "ours,nginx,nio,hummingbird,python-threading"


def parse_peer(spec):
    """`NAME=COMMAND` from --peer: a name the tables can show, and a command with {port}."""
    name, sep, command = spec.partition("=")
    if not sep or not re.fullmatch(r"[A-Za-z0-9_.-]+", name) or "{port}" not in command:
        sys.exit(f"--peer {spec!r}: expected NAME=COMMAND, NAME of letters, digits, '.', '_' or '-', "
                 "and COMMAND naming {port}")
    if name in SERVERS:
        sys.exit(f"--peer {name}: that name is a built-in server")
    return name, command


def add_peer(name, command, measure_child=False):
    modes = {"hello", "static"} if "{data}" in command else {"hello"}
    SERVERS[name] = dict(label=name, modes=modes, command=command, measure_child=measure_child)


def log(msg):
    print(msg, flush=True)


def have(tool):
    return shutil.which(tool) is not None


def ensure_tools():
    # perf (linux-perf) is preferred for syscall counts but optional: strace is the fallback.
    missing = [pkg for tool, pkg in (("wrk", "wrk"), ("nginx", "nginx"), ("taskset", "util-linux"),
                                     ("strace", "strace"))
               if not have(tool)]
    if missing and os.geteuid() == 0:
        log(f"installing {' '.join(missing)} (apt-get)")
        subprocess.run(["apt-get", "update", "-qq"], check=False)
        subprocess.run(["apt-get", "install", "-y", "-qq"] + missing, check=False,
                       stdout=subprocess.DEVNULL)
    return {t: have(t) for t in ("wrk", "nginx", "perf", "strace", "taskset")}


def swift_build(products, hummingbird):
    """Builds each product in release mode; returns {product: path or None}.

    The Hummingbird peer builds in its own scratch folder (.build-hb) with BENCH_HUMMINGBIRD=1, so
    that the everyday build does not resolve and compile Hummingbird.
    """
    out = {}
    for p in products:
        env = dict(os.environ)
        scratch = []
        if p == "hummingbird-hello":
            env["BENCH_HUMMINGBIRD"] = "1"
            scratch = ["--scratch-path", os.path.join(HERE, ".build-hb")]
        log(f"building {p} (release)")
        r = subprocess.run(["swift", "build", "-c", "release", "--product", p] + scratch, cwd=HERE, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            tail = "\n    ".join(r.stdout.strip().splitlines()[-6:])
            log(f"  {p}: build failed, skipped\n    {tail}")
            out[p] = None
            continue
        bindir = subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"] + scratch, cwd=HERE,
                                env=env, stdout=subprocess.PIPE, text=True).stdout.strip()
        out[p] = os.path.join(bindir, p)
    return out


def prebuilt(products):
    """--no-build: binaries already in .build/release (.build-hb/release for Hummingbird)."""
    out = {}
    for p in products:
        d = os.path.join(HERE, ".build-hb" if p == "hummingbird-hello" else ".build", "release", p)
        out[p] = d if os.path.exists(d) else None
    return out


# ---------------------------------------------------------------------------------------------
# /proc readings

def proc_cpu_ticks(pid):
    """utime+stime of the whole process (all threads, live and exited), in clock ticks."""
    with open(f"/proc/{pid}/stat") as f:
        data = f.read()
    fields = data[data.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])


def proc_rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def children_of(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def wait_port(port, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


# ---------------------------------------------------------------------------------------------
# servers

class Server:
    """One server process pinned to core 0. `pid` is the process that does the work."""

    def __init__(self, name, mode, port, argv, workdir, measure_child=False):
        self.name, self.mode, self.port = name, mode, port
        self.label = SERVERS[name]["label"]
        self.logf = open(os.path.join(workdir, f"{name}-{mode}.log"), "w")
        self.proc = subprocess.Popen(["taskset", "-c", SERVER_CPU] + argv, stdout=self.logf,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     start_new_session=True)
        self.ok = wait_port(port)
        self.pid = self.proc.pid
        if self.ok and measure_child:  # nginx: the single worker, not the master
            for _ in range(50):
                kids = children_of(self.proc.pid)
                if kids:
                    self.pid = kids[0]
                    break
                time.sleep(0.05)
        if not self.ok:
            self.stop()

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.logf.close()


NGINX_CONF = """worker_processes 1;
daemon off;
master_process on;
pid {run}/nginx.pid;
error_log {run}/nginx-error.log warn;
worker_rlimit_nofile 20000;
events {{ worker_connections 19900; use epoll; }}
http {{
    access_log off;
    keepalive_requests 1000000000;
    keepalive_timeout 600s;
    sendfile on;
    client_body_temp_path {run}/body;
    proxy_temp_path {run}/proxy;
    fastcgi_temp_path {run}/fastcgi;
    uwsgi_temp_path {run}/uwsgi;
    scgi_temp_path {run}/scgi;
    server {{
        listen 127.0.0.1:{port} backlog=4096 reuseport;
        location / {{
            default_type text/plain;
            return 200 "Hello, World!";
        }}
        location /static/ {{
            root {data};
        }}
    }}
}}
"""


NGINX_TLS_CONF = NGINX_CONF.replace(
    "listen 127.0.0.1:{port} backlog=4096 reuseport;",
    "listen 127.0.0.1:{port} ssl backlog=4096 reuseport;\n"
    "        ssl_certificate {cert};\n"
    "        ssl_certificate_key {key};\n"
    "        ssl_protocols TLSv1.2 TLSv1.3;\n"
    "        ssl_ciphers {ciphers};\n"
    "        ssl_prefer_server_ciphers on;\n"
    "        ssl_session_tickets on;")

# HTTPServerTLS's TLS 1.2 list (TLSConfiguration.tls12Ciphers); TLS 1.3 suites are OpenSSL's default in both.
TLS12_CIPHERS = ("ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
                 "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305")


def make_certificate(workdir):
    """A self-signed ECDSA P-256 certificate for 127.0.0.1, shared by every TLS server of the run."""
    cert, key = os.path.join(workdir, "tls-cert.pem"), os.path.join(workdir, "tls-key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    os.chmod(key, 0o644)
    return cert, key


def negotiated(port):
    """Protocol and cipher an OpenSSL client with default settings (as wrk and s_time) gets."""
    r = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}"], input="", text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=10)
    for line in r.stdout.splitlines():
        if "Cipher is" in line:
            return line.strip().lstrip("New, ")
    return None


class Fleet:
    """Starts servers on demand, one process per (server, mode), and keeps them for the run."""

    def __init__(self, bins, workdir, datadir, base_port):
        self.bins, self.workdir, self.datadir = bins, workdir, datadir
        self.next_port = base_port
        self.running = {}

    def port(self):
        self.next_port += 1
        return self.next_port

    def argv(self, name, mode, port, tls=False):
        if "command" in SERVERS[name]:  # a peer added with --peer
            if tls:
                return None
            return [arg.replace("{port}", str(port)).replace("{data}", self.datadir)
                    for arg in shlex.split(SERVERS[name]["command"])]
        py = [sys.executable, os.path.join(HERE, "peers", "python_hello.py")]
        if tls and name not in TLS_SERVERS:
            return None
        if tls and not getattr(self, "certificate", None):
            self.certificate = make_certificate(self.workdir)
        if name in ("ours", "ours-metrics", "ours-inline"):
            if not self.bins.get("bench-server"):
                return None
            if mode == "hello-threads":
                argv = [self.bins["bench-server"], "hello", "--threads", "64", "--port", str(port)]
            else:
                argv = [self.bins["bench-server"], mode, "--port", str(port)]
            if name == "ours-inline":
                argv += ["--threads", "0"]
            if name == "ours-metrics":
                argv += ["--metrics"]
            if mode == "static":
                argv += ["--directory", self.datadir]
            if tls:
                argv += ["--tls-cert", self.certificate[0], "--tls-key", self.certificate[1]]
            return argv
        if name == "nio":
            return [self.bins["nio-hello"], "--port", str(port)] if self.bins.get("nio-hello") else None
        if name == "hummingbird":
            b = self.bins.get("hummingbird-hello")
            return [b, "--port", str(port)] if b else None
        if name in ("python", "python-threading"):
            argv = py + [mode, "--port", str(port), "--directory", self.datadir]
            return argv + (["--threading"] if name == "python-threading" else [])
        if name == "nginx":
            if not have("nginx"):
                return None
            run = os.path.join(self.workdir, f"nginx-{port}")
            os.makedirs(run, exist_ok=True)
            conf = os.path.join(run, "nginx.conf")
            with open(conf, "w") as f:
                if tls:
                    f.write(NGINX_TLS_CONF.format(run=run, port=port, data=self.datadir, cert=self.certificate[0],
                                                  key=self.certificate[1], ciphers=TLS12_CIPHERS))
                else:
                    f.write(NGINX_CONF.format(run=run, port=port, data=self.datadir))
            return ["nginx", "-p", run, "-c", conf]
        return None

    def get(self, name, mode, fresh=False, tls=False):
        if mode not in SERVERS[name]["modes"]:
            return None
        key = (name, "hello" if name == "nginx" else mode, tls)
        srv = self.running.get(key)
        if srv is not None and (fresh or not srv.alive()):
            srv.stop()
            srv = None
            del self.running[key]
        if srv is None and key not in self.running:
            port = self.port()
            argv = self.argv(name, mode, port, tls)
            if argv is None:
                self.running[key] = None
                return None
            srv = Server(name, mode, port, argv, self.workdir,
                         measure_child=SERVERS[name].get("measure_child", name == "nginx"))
            if not srv.ok:
                log(f"  {name} ({mode}) did not start; see {srv.logf.name}")
                srv = None
            elif tls:
                srv.tls = negotiated(port)
                log(f"  {srv.label} (HTTPS) negotiates: {srv.tls}")
            self.running[key] = srv
        return srv

    def stop_all(self):
        for srv in self.running.values():
            if srv is not None:
                srv.stop()


# ---------------------------------------------------------------------------------------------
# load generators

WRK_PIPELINE_LUA = """
init = function(args)
  local depth = tonumber(args[1]) or 16
  local r = {}
  for i = 1, depth do r[i] = wrk.format(nil, wrk.path) end
  req = table.concat(r)
end
request = function() return req end
"""

WRK_POST_LUA = """
wrk.method = "POST"
wrk.body = string.rep("a", %d)
wrk.headers["Content-Type"] = "application/octet-stream"
"""


def parse_wrk(text):
    res = {"requests": 0, "duration_s": 0.0, "errors": 0, "latency_us": {}}
    for line in text.splitlines():
        s = line.strip()
        if " requests in " in s:
            parts = s.split()
            res["requests"] = int(parts[0])
            d = parts[3].rstrip(",")
            res["duration_s"] = to_seconds(d)
        elif s.startswith("Socket errors:"):
            nums = [int(x.rstrip(",")) for x in s.replace("Socket errors:", "").split() if x.rstrip(",").isdigit()]
            res["errors"] += sum(nums)
        elif s.startswith("Non-2xx or 3xx responses:"):
            res["errors"] += int(s.split(":")[1])
        elif s.endswith("%") is False and len(s.split()) == 2 and s.split()[0].endswith("%"):
            pct, val = s.split()
            us = to_seconds(val) * 1e6
            # wrk prints 0.00us for a percentile it failed to find (seen with pipelining at ~900k
            # req/s: its histogram walk ends short of the rank): no figure rather than a false zero.
            res["latency_us"]["p" + pct.rstrip("%")] = us if us > 0 else None
        elif s.startswith("Requests/sec:"):
            res["rps"] = float(s.split(":")[1])
    if "rps" not in res and res["duration_s"]:
        res["rps"] = res["requests"] / res["duration_s"]
    return res


def to_seconds(v):
    for unit, mult in (("us", 1e-6), ("ms", 1e-3), ("s", 1.0), ("m", 60.0), ("h", 3600.0)):
        if v.endswith(unit):
            try:
                return float(v[: -len(unit)]) * mult
            except ValueError:
                continue
    return float(v)


def load_command(client, bins, sc, port, duration, workdir):
    """argv of one load run, pinned to core 1, and a parser for its output."""
    path = sc.get("path", "/")
    url = f"{'https' if sc.get('tls') else 'http'}://127.0.0.1:{port}{path}"
    if sc.get("handshake"):
        # openssl s_time: a new connection, a full handshake (-new: no resumption) and one
        # HTTP/1.0 GET per connection, sequentially; `conns` of them in parallel.
        argv = ["openssl", "s_time", "-connect", f"127.0.0.1:{port}", "-new", "-www", path,
                "-time", str(max(1, round(duration)))]
        script = " & ".join(" ".join(argv) for _ in range(sc["conns"])) + " & wait"
        return ["taskset", "-c", LOAD_CPU, "sh", "-c", script], parse_s_time
    conns = sc["conns"]
    timeout = 30 if sc["mode"] == "static" else 5
    if client == "bench":
        argv = [bins["bench"], "--port", str(port), "--path", path, "--connections", str(conns),
                "--duration", str(duration), "--warmup", "0", "--timeout", str(timeout), "--json"]
        if sc.get("pipeline"):
            argv += ["--pipeline", str(sc["pipeline"])]
        if sc.get("close"):
            argv += ["--close"]
        if sc.get("post"):
            argv += ["--method", "POST", "--body-size", str(sc["post"]),
                     "--header", "Content-Type: application/octet-stream"]
            if sc.get("expect"):
                argv += ["--expect-continue"]
        if sc.get("size"):
            argv += ["--expect-length", str(sc["size"])]
        return ["taskset", "-c", LOAD_CPU] + argv, parse_bench
    argv = ["wrk", "-t1", "-c", str(conns), "-d", f"{max(1, round(duration))}s", "--latency", "--timeout", f"{timeout}s"]
    if sc.get("close"):
        argv += ["-H", "Connection: close"]
    if sc.get("pipeline"):
        lua = os.path.join(workdir, "pipeline.lua")
        with open(lua, "w") as f:
            f.write(WRK_PIPELINE_LUA)
        argv += ["-s", lua, url, "--", str(sc["pipeline"])]
    elif sc.get("post"):
        # wrk cannot do Expect: 100-continue (it counts the 100 as a response): plain POST.
        lua = os.path.join(workdir, "post.lua")
        with open(lua, "w") as f:
            f.write(WRK_POST_LUA % sc["post"])
        argv += ["-s", lua, url]
    else:
        argv += [url]
    return ["taskset", "-c", LOAD_CPU] + argv, parse_wrk


def parse_s_time(text):
    """Sums `N connections in T real seconds` over the parallel s_time processes."""
    res = {"requests": 0, "errors": 0, "latency_us": {}}
    seconds = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) > 4 and parts[1] == "connections" and parts[2] == "in" and parts[4] == "real":
            res["requests"] += int(parts[0])
            seconds.append(float(parts[3]))
    if seconds:
        res["duration_s"] = max(seconds)
        res["rps"] = res["requests"] / res["duration_s"]
    return res


def parse_bench(text):
    for line in reversed(text.strip().splitlines()):
        if line.startswith("{"):
            j = json.loads(line)
            errs = j.get("errors", {})
            j["errors"] = sum(errs.values()) if isinstance(errs, dict) else errs
            return j
    raise ValueError("no JSON line in bench output")


def run_load_rusage(argv, parse):
    t0 = time.time()
    with tempfile.TemporaryFile(mode="w+") as f:
        p = subprocess.Popen(argv, stdout=f, stderr=subprocess.STDOUT)
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        f.seek(0)
        out = f.read()
    try:
        res = parse(out)
    except Exception as e:  # noqa: BLE001 - report and go on
        res = {"requests": 0, "errors": 1, "parse_error": str(e)}
    res["client_cpu_s"] = ru.ru_utime + ru.ru_stime
    res["client_wall_s"] = time.time() - t0
    res["raw_tail"] = out[-1500:]
    if not res.get("requests"):
        log("    load generator reported no requests: " + " | ".join(out.strip().splitlines()[:3]))
    return res


def core_busy_ticks(cpu):
    """Busy clock ticks of one core so far (/proc/stat: all but idle and iowait)."""
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith(f"cpu{cpu} "):
                v = [int(x) for x in line.split()[1:]]
                return sum(v) - v[3] - v[4]
    return 0


def settle(cpu, limit_s=5.0):
    """Waits until the server core is quiet (at most one busy tick in 100 ms), so that a peer still
    busy with the previous round (Python's threads winding down 256 connections) does not run
    during this one. Returns the seconds waited."""
    start = time.time()
    while time.time() - start < limit_s:
        b0 = core_busy_ticks(cpu)
        time.sleep(0.1)
        if core_busy_ticks(cpu) - b0 <= 1:
            break
    return time.time() - start


def measured_run(srv, client, bins, sc, duration, workdir):
    argv, parse = load_command(client, bins, sc, srv.port, duration, workdir)
    settled = settle(SERVER_CPU)
    try:
        t0 = proc_cpu_ticks(srv.pid)
        res = run_load_rusage(argv, parse)
        t1 = proc_cpu_ticks(srv.pid)
    except OSError:
        log(f"    {srv.label} is gone (crashed?); see {srv.logf.name}")
        return {"requests": 0, "errors": 1, "server_died": True, "rss_bytes": 0}
    reqs = res.get("requests", 0)
    cpu_us = (t1 - t0) * 1e6 / CLK_TCK
    res["server_cpu_us"] = cpu_us
    res["settle_s"] = round(settled, 2)
    res["cpu_us_per_req"] = cpu_us / reqs if reqs else None
    res["client_cpu_us_per_req"] = res["client_cpu_s"] * 1e6 / reqs if reqs else None
    try:
        res["rss_bytes"] = proc_rss_bytes(srv.pid)
    except OSError:
        res["rss_bytes"] = 0
    return res


def syscall_run(srv, client, bins, sc, duration, workdir, tools):
    """Server syscalls per request over a short separate run."""
    argv, parse = load_command(client, bins, sc, srv.port, duration, workdir)
    out = os.path.join(workdir, f"syscalls-{srv.name}.txt")
    if tools.get("perf"):
        tracer = subprocess.Popen(["perf", "stat", "-x,", "-o", out, "-e", "raw_syscalls:sys_enter",
                                   "-p", str(srv.pid)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        kind = "perf"
    elif tools.get("strace"):
        tracer = subprocess.Popen(["strace", "-c", "-f", "-o", out, "-p", str(srv.pid)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        kind = "strace"
    else:
        return None
    time.sleep(0.3)
    res = run_load_rusage(argv, parse)
    time.sleep(0.2)
    tracer.send_signal(signal.SIGINT)
    tracer.wait(10)
    total = None
    with open(out) as f:
        text = f.read()
    if kind == "perf":
        for line in text.splitlines():
            cols = line.split(",")
            if len(cols) > 2 and "raw_syscalls:sys_enter" in line and cols[0].strip().isdigit():
                total = int(cols[0])
    else:
        for line in text.splitlines():
            if line.strip().endswith("total"):
                total = int(line.split()[2])
    reqs = res.get("requests", 0)
    if total is None or not reqs:
        return None
    return {"syscalls": total, "requests": reqs, "per_request": total / reqs, "tool": kind}


# ---------------------------------------------------------------------------------------------
# idle connections

def idle_run(srv, n, workdir, tls=False):
    """Opens n keep-alive connections, one request each (core 1), and reports the server's RSS growth."""
    # A few warm requests first so the baseline includes first-request allocations.
    context = None
    if tls:
        import ssl
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    for _ in range(3):
        try:
            with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as raw:
                s = context.wrap_socket(raw) if context else raw
                s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                while s.recv(65536):
                    pass
        except OSError:
            pass
    time.sleep(0.3)
    base = proc_rss_bytes(srv.pid)
    client = [sys.executable, os.path.join(HERE, "peers", "idle_client.py"), "--port", str(srv.port),
              "--connections", str(n)] + (["--tls", "--timeout", "300"] if tls else [])
    p = subprocess.Popen(["taskset", "-c", LOAD_CPU] + client, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, stdin=subprocess.PIPE, text=True)
    line = ""
    deadline = time.time() + (320 if tls else 120)
    while time.time() < deadline:
        line = p.stdout.readline()
        if not line or line.startswith("ready") or line.startswith("failed"):
            break
    time.sleep(0.5)
    rss = proc_rss_bytes(srv.pid)
    p.stdin.close()
    try:
        p.wait(30)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    ok = line.startswith("ready")
    opened = int(line.split()[1]) if ok else 0
    return {"connections": opened, "requested": n, "rss_base_bytes": base, "rss_bytes": rss,
            "bytes_per_connection": (rss - base) / opened if opened else None,
            "client": line.strip()}


# ---------------------------------------------------------------------------------------------
# report

def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(v, digits=1):
    if v is None:
        return "-"
    if digits == 0 and abs(v) < 100:
        digits = 1
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{digits}f}"


def summarize(results, servers):
    """Median per (scenario, server) and ratios to ours (or to the first server present)."""
    summary = {}
    for scen, per in results["scenarios"].items():
        rows = {}
        for name, runs in per["runs"].items():
            rows[name] = {
                "cpu_us_per_req": median([r.get("cpu_us_per_req") for r in runs]),
                "rps": median([r.get("rps") for r in runs]),
                "rss_bytes": median([r.get("rss_bytes") for r in runs]),
                "p99_us": median([r.get("latency_us", {}).get("p99") for r in runs]),
                "errors": sum(r.get("errors", 0) or 0 for r in runs),
                "client_cpu_us_per_req": median([r.get("client_cpu_us_per_req") for r in runs]),
                "rounds": len(runs),
            }
            sc = per.get("syscalls", {}).get(name)
            rows[name]["syscalls_per_req"] = sc["per_request"] if sc else None
            idle = per.get("idle", {}).get(name)
            if idle:
                rows[name]["idle_bytes_per_conn"] = idle["bytes_per_connection"]
                rows[name]["idle_connections"] = idle["connections"]
        ref = "ours" if rows.get("ours") else next(iter(rows), None)
        for name, row in rows.items():
            r = rows.get(ref) or {}
            for key in ("cpu_us_per_req", "idle_bytes_per_conn"):
                if row.get(key) and r.get(key):
                    row[f"{key}_vs_{ref}"] = row[key] / r[key]
        summary[scen] = {"reference": ref, "title": per["title"], "client": per.get("client"), "servers": rows}
    return summary


def markdown_summary(results):
    """The summary as Markdown tables, for docs/benchmarks.md."""
    summary = results["summary"]
    lines = []
    order = [n for n in SERVERS if any(n in v["servers"] for v in summary.values())]
    cpu = [(k, v) for k, v in summary.items() if k not in IDLE_SCENARIOS]
    if cpu:
        lines.append("Server CPU µs per request (median; ratio to this project in brackets):\n")
        lines.append("| scenario | load | " + " | ".join(SERVERS[n]["label"] for n in order) + " |")
        lines.append("|---|---|" + "---|" * len(order))
        for k, v in cpu:
            cells = []
            for n in order:
                row = v["servers"].get(n)
                if not row or row.get("cpu_us_per_req") is None:
                    cells.append("—")
                    continue
                ratio = row.get(f"cpu_us_per_req_vs_{v['reference']}")
                cells.append(f"{fmt(row['cpu_us_per_req'], 2)}" + (f" ({ratio:.2f}×)" if ratio and n != v["reference"] else ""))
            lines.append(f"| {SCENARIOS[k].get('short', k)} | {v.get('client') or ''} | " + " | ".join(cells) + " |")
        for title, key, digits in (("req/s (median)", "rps", 0), ("syscalls per request", "syscalls_per_req", 2),
                                   ("p99 latency, ms (median)", "p99_us", 2)):
            lines.append(f"\n{title}:\n")
            lines.append("| scenario | " + " | ".join(SERVERS[n]["label"] for n in order) + " |")
            lines.append("|---|" + "---|" * len(order))
            for k, v in cpu:
                cells = []
                for n in order:
                    val = (v["servers"].get(n) or {}).get(key)
                    if key == "p99_us" and val is not None:
                        val = val / 1000
                    cells.append(fmt(val, digits) if val is not None else "—")
                lines.append(f"| {SCENARIOS[k].get('short', k)} | " + " | ".join(cells) + " |")
    for scen in IDLE_SCENARIOS:
        if scen not in summary:
            continue
        kind = "HTTPS " if scen == "tls-idle" else ""
        lines.append(f"\nRSS growth per idle {kind}keep-alive connection:\n")
        lines.append("| server | connections | bytes per connection |")
        lines.append("|---|---|---|")
        for n in order:
            row = summary[scen]["servers"].get(n)
            if row and row.get("idle_bytes_per_conn") is not None:
                lines.append(f"| {SERVERS[n]['label']} | {row['idle_connections']:,} | {row['idle_bytes_per_conn']:,.0f} |")
    return "\n".join(lines) + "\n"


def print_summary(summary):
    log("\n== summary (medians of interleaved rounds; ratio = server / reference)")
    for scen, s in summary.items():
        log(f"\n{scen}: {s['title']}   (reference: {s['reference']})")
        if scen in IDLE_SCENARIOS:
            log(f"  {'server':28} {'conns':>7} {'bytes/conn':>11} {'ratio':>7}")
            for name, row in s["servers"].items():
                ratio = row.get(f"idle_bytes_per_conn_vs_{s['reference']}")
                log(f"  {SERVERS[name]['label']:28} {row.get('idle_connections', 0):>7} "
                    f"{fmt(row.get('idle_bytes_per_conn'), 0):>11} {fmt(ratio, 2):>7}")
            continue
        log(f"  {'server':28} {'CPU µs/req':>10} {'ratio':>6} {'req/s':>10} {'p99 ms':>8} "
            f"{'RSS MB':>7} {'sys/req':>7} {'errors':>6} {'client µs/req':>13}")
        for name, row in s["servers"].items():
            ratio = row.get(f"cpu_us_per_req_vs_{s['reference']}")
            p99 = row["p99_us"] / 1000 if row.get("p99_us") is not None else None
            rss = row["rss_bytes"] / 1e6 if row.get("rss_bytes") else None
            log(f"  {SERVERS[name]['label']:28} {fmt(row['cpu_us_per_req'], 2):>10} {fmt(ratio, 2):>6} "
                f"{fmt(row['rps'], 0):>10} {fmt(p99, 2):>8} {fmt(rss, 1):>7} "
                f"{fmt(row['syscalls_per_req'], 2):>7} {row['errors']:>6} "
                f"{fmt(row['client_cpu_us_per_req'], 2):>13}")


COLORS = ["#d9480f", "#1971c2", "#2f9e44", "#7048e8", "#f08c00", "#868e96", "#c2255c"]


def svg_chart(summary, order, title):
    """Grouped horizontal bars, one group per scenario, log scale: a panel of server CPU µs per
    request, and (when measured) a panel of RSS bytes per idle connection."""
    names = [n for n in order if any(n in v["servers"] for v in summary.values())]
    panels = []
    cpu = [(s, v) for s, v in summary.items() if s not in IDLE_SCENARIOS]
    if cpu:
        panels.append(("Server CPU µs per request (lower is better)", "cpu_us_per_req", cpu))
    idle = [(s, summary[s]) for s in IDLE_SCENARIOS if s in summary]
    if idle:
        panels.append(("RSS growth per idle keep-alive connection, bytes (lower is better)",
                       "idle_bytes_per_conn", idle))
    left, width, bar_h, gap = 210, 560, 13, 14
    out_body = []
    y = 62
    for caption, key, groups in panels:
        vals = [r.get(key) for _, v in groups for r in v["servers"].values() if r.get(key)]
        if not vals:
            continue
        lo = 10 ** math.floor(math.log10(min(vals)))
        hi = 10 ** math.ceil(math.log10(max(vals)))
        if hi <= lo:
            hi = lo * 10

        def x(v, lo=lo, hi=hi):
            return left + (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo)) * width

        out_body.append(f'<text x="10" y="{y}" font-weight="bold">{esc(caption)}</text>')
        y += 10
        top = y
        for s, v in groups:
            present = [n for n in names if n in v["servers"]]
            out_body.append(f'<text x="{left - 8}" y="{y + len(present) * bar_h / 2 + 4:.1f}" '
                            f'text-anchor="end">{esc(SCENARIOS[s].get("short", s))}</text>')
            for n in present:
                val = v["servers"][n].get(key)
                color = COLORS[names.index(n) % len(COLORS)]
                if val:
                    out_body.append(f'<rect x="{left}" y="{y}" width="{max(1.0, x(val) - left):.1f}" '
                                    f'height="{bar_h - 2}" fill="{color}"><title>{esc(SERVERS[n]["label"])}: '
                                    f'{val:.2f}</title></rect>')
                    out_body.append(f'<text x="{x(val) + 4:.1f}" y="{y + bar_h - 3}" font-size="10">'
                                    f'{fmt(val, 2)}</text>')
                else:
                    out_body.append(f'<text x="{left + 4}" y="{y + bar_h - 3}" font-size="10" fill="#888">'
                                    f'{esc(SERVERS[n]["label"])}: not measured</text>')
                y += bar_h
            y += gap
        decade = lo
        while decade <= hi * 1.0001:
            xx = x(decade)
            out_body.insert(0, f'<line x1="{xx:.1f}" y1="{top - 4}" x2="{xx:.1f}" y2="{y - gap + 4}" stroke="#ddd"/>')
            out_body.append(f'<text x="{xx:.1f}" y="{y + 4}" text-anchor="middle" fill="#555" '
                            f'font-size="10">{decade:,.0f}</text>' if decade >= 1 else
                            f'<text x="{xx:.1f}" y="{y + 4}" text-anchor="middle" fill="#555" '
                            f'font-size="10">{decade:g}</text>')
            decade *= 10
        y += 34
    for i, n in enumerate(names):
        color = COLORS[i % len(COLORS)]
        out_body.append(f'<rect x="{left}" y="{y + 18 * i}" width="12" height="12" fill="{color}"/>')
        out_body.append(f'<text x="{left + 18}" y="{y + 18 * i + 10}">{esc(SERVERS[n]["label"])}</text>')
    height = y + 18 * len(names) + 10
    head = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 90}" height="{height}" '
            f'font-family="sans-serif" font-size="12">',
            '<rect width="100%" height="100%" fill="white"/>',
            f'<text x="10" y="20" font-size="15" font-weight="bold">{esc(title)}</text>',
            '<text x="10" y="36" fill="#555" font-size="11">Server on core 0, load on core 1; medians of '
            'interleaved rounds; log scale</text>']
    return "\n".join(head + out_body + ["</svg>"])


def esc(s):
    return str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# ---------------------------------------------------------------------------------------------

def make_data(datadir, scenarios):
    static = os.path.join(datadir, "static")
    os.makedirs(static, exist_ok=True)
    for name, size in (("1M.bin", 1 << 20), ("1G.bin", 1 << 30)):
        path = os.path.join(static, name)
        if size > (1 << 20) and "static1g" not in scenarios:
            continue
        if not os.path.exists(path) or os.path.getsize(path) != size:
            with open(path, "wb") as f:
                chunk = bytes(range(256)) * 4096  # 1 MiB of non-zero data
                for _ in range(size // len(chunk)):
                    f.write(chunk)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--servers", default=DEFAULT_SERVERS)
    ap.add_argument("--scenarios", default=DEFAULT_SCENARIOS)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=float, default=2.0, help="seconds per measured run")
    ap.add_argument("--warmup", type=float, default=1.0, help="seconds of warm-up per server and scenario")
    ap.add_argument("--client", choices=["auto", "wrk", "bench"], default="auto",
                    help="auto: wrk -t1, except bench for POST with Expect: 100-continue (wrk cannot) and "
                         "for static files (wrk reads 8 KiB at a time and is the bottleneck)")
    ap.add_argument("--idle-connections", type=int, default=10000)
    ap.add_argument("--no-syscalls", action="store_true")
    ap.add_argument("--hummingbird", action="store_true", help="build the Hummingbird peer (slow build)")
    ap.add_argument("--no-build", action="store_true", help="use binaries already in .build/release")
    ap.add_argument("--out", default=None, help="results directory (default results/<UTC stamp>)")
    ap.add_argument("--base-port", type=int, default=18400)
    ap.add_argument("--markdown", metavar="RESULTS_JSON",
                    help="only print the summary of an earlier run as Markdown tables")
    ap.add_argument("--compare-clients", action="store_true",
                    help="only: bench vs wrk -t1 against nginx (ka64, pipe16), interleaved")
    ap.add_argument("--compare-server", default="nginx", help="the server --compare-clients loads")
    ap.add_argument("--peer", action="append", default=[], metavar="NAME=COMMAND",
                    help="add any server as a peer: COMMAND is started (no shell) with {port} replaced by "
                         "its port and {data} by the data folder; it must answer GET / with 200 and a "
                         "small body, and, when COMMAND names {data}, serve {data}/static/* at /static/*. "
                         "Pinned and measured like the built-in peers (CPU and RSS of the process "
                         "started, or of its first child with --peer-child NAME). Repeatable; "
                         "the peer joins --servers unless that already names it")
    ap.add_argument("--peer-child", action="append", default=[], metavar="NAME",
                    help="measure the first child of peer NAME (a master/worker server, as nginx)")
    ap.add_argument("--reactors", default=None, metavar="N,N,...",
                    help="only: hello with bench-server --reactors N for each N, interleaved: CPU µs per "
                         "request, and the split of connections and CPU between reactors (Benchmarks/reactors.py)")
    import reactors
    reactors.add_arguments(ap, standalone=False)
    a = ap.parse_args()
    if a.reactors:
        a.client = "wrk" if have("wrk") else "bench"
        products = ["bench-server"] + (["bench"] if a.client == "bench" else [])
        bins = prebuilt(products) if a.no_build else swift_build(products, False)
        if not bins.get("bench-server"):
            sys.exit("no bench-server")
        workdir = tempfile.mkdtemp(prefix="swift-http-reactors-")
        results = reactors.compare(a, bins, workdir)
        outdir = a.out or os.path.join(HERE, "results", "reactors-" + datetime.datetime.now(
            datetime.timezone.utc).strftime("%Y-%m-%dT%H%M%SZ"))
        os.makedirs(outdir, exist_ok=True)
        with open(os.path.join(outdir, "results.json"), "w") as f:
            json.dump(results, f, indent=1, default=str)
        log(f"\nwrote {outdir}/results.json")
        return
    if a.markdown:
        with open(a.markdown) as f:
            print(markdown_summary(json.load(f)), end="")
        return

    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H%M%SZ")
    outdir = a.out or os.path.join(HERE, "results", stamp)
    os.makedirs(outdir, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix="swift-http-bench-")
    os.chmod(workdir, 0o755)  # nginx's worker runs as an unprivileged user and reads the data files
    datadir = os.path.join(workdir, "data")
    servers = [s for s in a.servers.split(",") if s]
    for spec in a.peer:
        name, command = parse_peer(spec)
        add_peer(name, command, measure_child=name in a.peer_child)
        if name not in servers:
            servers.append(name)
    scenarios = [s for s in a.scenarios.split(",") if s]
    if a.compare_clients:
        servers, scenarios = [a.compare_server], ["ka64", "pipe16"]
    for s in servers:
        if s not in SERVERS:
            sys.exit(f"unknown server {s}; known: {', '.join(SERVERS)}")
    for s in scenarios:
        if s not in SCENARIOS:
            sys.exit(f"unknown scenario {s}; known: {', '.join(SCENARIOS)}")

    tools = ensure_tools()
    log(f"tools: {', '.join(k for k, v in tools.items() if v)}; missing: "
        f"{', '.join(k for k, v in tools.items() if not v) or 'none'}")
    products = []
    if any(s in servers for s in ("ours", "ours-metrics", "ours-inline")):
        products.append("bench-server")
    if "nio" in servers:
        products.append("nio-hello")
    if "hummingbird" in servers and (a.hummingbird or a.no_build):
        products.append("hummingbird-hello")
    if a.client in ("bench", "auto") or a.compare_clients:
        products.append("bench")
    if a.no_build:
        bins = prebuilt(products)
    else:
        bins = swift_build(products, a.hummingbird)
    make_data(datadir, scenarios)

    results = {
        "date_utc": stamp,
        "host": {"nproc": os.cpu_count(), "uname": " ".join(os.uname()),
                 "load_avg_at_start": os.getloadavg()},
        "settings": vars(a),
        "method": "server pinned to core 0, load to core 1; interleaved rounds; medians; "
                  "CPU from /proc/PID/stat utime+stime",
        "scenarios": {},
    }
    fleet = Fleet(bins, workdir, datadir, a.base_port)
    try:
        if a.compare_clients:
            compare_clients(a, bins, fleet, workdir, results)
        else:
            run_all(a, servers, scenarios, bins, fleet, workdir, tools, results)
    finally:
        fleet.stop_all()
    results["host"]["load_avg_at_end"] = os.getloadavg()
    if not a.compare_clients:
        results["summary"] = summarize(results, servers)
        print_summary(results["summary"])
        with open(os.path.join(outdir, "chart.svg"), "w") as f:
            f.write(svg_chart(results["summary"], servers, f"swift-http-server benchmarks, {stamp}"))
    with open(os.path.join(outdir, "results.json"), "w") as f:
        json.dump(results, f, indent=1, default=str)
    log(f"\nwrote {outdir}/results.json" + ("" if a.compare_clients else f" and {outdir}/chart.svg"))
    shutil.rmtree(workdir, ignore_errors=True)


def run_all(a, servers, scenarios, bins, fleet, workdir, tools, results):
    for scen in scenarios:
        sc = SCENARIOS[scen]
        client = a.client
        tls = bool(sc.get("tls"))
        if tls:
            client = "s_time" if sc.get("handshake") else "wrk"  # bench speaks no TLS
        elif client == "auto":
            client = "bench" if (sc.get("expect") or sc["mode"] == "static") and bins.get("bench") else "wrk"
        title = sc["title"]
        if sc.get("expect") and client == "wrk":
            title += " (wrk: sent without Expect, which wrk cannot handle)"
        per = results["scenarios"].setdefault(scen, {"title": title, "client": client, "runs": {},
                                                      "syscalls": {}})
        log(f"\n== {scen}: {title}  [load: {'wrk -t1' if client == 'wrk' else client}]")
        if scen in ("idle", "tls-idle"):
            per["idle"] = {}
            for name in servers:
                if tls and name not in TLS_SERVERS:
                    continue
                if name == "python":
                    log("  Python HTTPServer: skipped (one connection at a time: idle connections "
                        "wait in the backlog)")
                    continue
                srv = fleet.get(name, "hello", fresh=True, tls=tls)
                if srv is None:
                    continue
                r = idle_run(srv, a.idle_connections, workdir, tls=tls)
                per["idle"][name] = r
                per["runs"].setdefault(name, [])
                log(f"  {srv.label:28} {r['connections']:>6} connections  RSS {r['rss_base_bytes'] / 1e6:.1f} "
                    f"-> {r['rss_bytes'] / 1e6:.1f} MB  = {fmt(r['bytes_per_connection'], 0)} B/conn")
                fleet.get(name, "hello", fresh=True, tls=tls)  # a clean process for later scenarios
            continue
        live = []
        for name in servers:
            if tls and name not in TLS_SERVERS:
                continue
            srv = fleet.get(name, sc["mode"], tls=tls)
            if srv is None:
                log(f"  {SERVERS[name]['label']}: not available for {sc['mode']}")
                continue
            if client == "bench" and not bins.get("bench"):
                continue
            if sc.get("expect") and SERVERS[name].get("no_expect"):
                log(f"  {SERVERS[name]['label']}: skipped (does not answer Expect: 100-continue)")
                continue
            live.append((name, srv))
            if a.warmup > 0:
                measured_run(srv, client, bins, sc, a.warmup, workdir)
        duration = max(a.duration, sc.get("min_duration", 0))
        for rnd in range(a.rounds):
            for name, srv in live:
                r = measured_run(srv, client, bins, sc, duration, workdir)
                per["runs"].setdefault(name, []).append(r)
                p99 = r.get("latency_us", {}).get("p99")
                log(f"  [{scen} {rnd + 1}/{a.rounds}] {srv.label:28} {fmt(r.get('rps'), 0):>9} req/s  "
                    f"{fmt(r.get('cpu_us_per_req'), 2):>7} µs/req  RSS {r['rss_bytes'] / 1e6:6.1f} MB  "
                    f"p99 {fmt(p99 / 1000 if p99 else None, 2)} ms  errors {r.get('errors', 0)}")
        if not a.no_syscalls:
            for name, srv in live:
                s = syscall_run(srv, client, bins, sc, min(duration, 2.0), workdir, tools)
                per["syscalls"][name] = s
                if s:
                    log(f"  [{scen} syscalls] {srv.label:28} {s['per_request']:.3f} syscalls/req "
                        f"({s['syscalls']} over {s['requests']} requests, {s['tool']})")


def compare_clients(a, bins, fleet, workdir, results):
    """bench vs wrk -t1, both on core 1, against the same server (nginx's worker) on core 0."""
    srv = fleet.get(a.compare_server, "hello")
    if srv is None or not bins.get("bench"):
        log(f"compare-clients needs {a.compare_server} and a working bench")
        return
    for scen in ("ka64", "pipe16"):
        sc = SCENARIOS[scen]
        per = results["scenarios"].setdefault(scen, {"title": sc["title"], "clients": {}})
        log(f"\n== {scen}: {sc['title']}: wrk -t1 vs bench against {srv.label}")
        for client in ("wrk", "bench"):
            measured_run(srv, client, bins, sc, a.warmup, workdir)
        for rnd in range(a.rounds):
            for client in ("wrk", "bench"):
                r = measured_run(srv, client, bins, sc, a.duration, workdir)
                per["clients"].setdefault(client, []).append(r)
                log(f"  [{scen} {rnd + 1}/{a.rounds}] {client:6} {fmt(r.get('rps'), 0):>9} req/s  "
                    f"client {fmt(r.get('client_cpu_us_per_req'), 2)} µs/req  "
                    f"server {fmt(r.get('cpu_us_per_req'), 2)} µs/req  errors {r.get('errors', 0)}")
        for client, runs in per["clients"].items():
            m = median([r.get("rps") for r in runs])
            c = median([r.get("client_cpu_us_per_req") for r in runs])
            per.setdefault("median", {})[client] = {"rps": m, "client_cpu_us_per_req": c}
            log(f"  median {client:6} {fmt(m, 0):>9} req/s  client {fmt(c, 2)} µs/req")


if __name__ == "__main__":
    main()
