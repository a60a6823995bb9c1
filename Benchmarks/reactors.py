#!/usr/bin/env python3
"""`hello` with `bench-server --reactors N` for several N: CPU µs per request, and how the
connections and the CPU time split between the reactors.

    python3 Benchmarks/run.py --reactors 1,2                     # this machine (2 cores)
    python3 Benchmarks/reactors.py --reactors 1,2 --no-build      # the same, built already
    # a larger machine: the server on 8 cores, wrk with 8 threads on 8 others
    python3 Benchmarks/run.py --reactors 1,2,4,8 --server-cpus 0-7 --load-cpus 8-15 \\
        --load-threads 8 --connections 512

Each N is a `bench-server hello --reactors N` process pinned to --server-cpus; the load (wrk, or
bench when wrk is missing) runs pinned to --load-cpus, and runs of the different N are interleaved.
Per run: requests/s, the server's CPU time (/proc/PID/stat utime+stime) per request, and each
reactor thread's share of it (/proc/PID/task/TID/stat: reactor 0 is the main thread, the others
are named `reactor-<i>`; what is left is the log writer and other helpers). When the server
stops it prints how many connections each reactor served (`reactor <i> connections <n>`).

On a machine with 2 cores the load generator needs one, so the server's reactors share the other:
this shows what N reactors cost and how they split the work, not how throughput scales. Scaling
needs server cores that are not shared: the second command above.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as R  # noqa: E402  (the runner's helpers: builds, /proc readings, load parsers)


def thread_ticks(pid):
    """{tid: (name, utime+stime ticks)} for every live thread of `pid`."""
    out = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                data = f.read()
        except OSError:
            continue
        name = data[data.index("(") + 1:data.rindex(")")]
        fields = data[data.rindex(")") + 2:].split()
        out[int(tid)] = (name, int(fields[11]) + int(fields[12]))
    return out


def reactor_of(pid, tid, name):
    """"reactor <i>" for a reactor thread, "other" for the rest."""
    if tid == pid:
        return "reactor 0"
    m = re.fullmatch(r"reactor-(\d+)", name)
    return f"reactor {m.group(1)}" if m else "other"


def split_ticks(pid, before, after):
    """CPU ticks per reactor (and "other") between two `thread_ticks` readings."""
    per = {}
    for tid, (name, ticks) in after.items():
        start = before.get(tid, (name, 0))[1]
        key = reactor_of(pid, tid, name)
        per[key] = per.get(key, 0) + ticks - start
    return per


def load_argv(a, bins, port, duration):
    if a.client == "wrk":
        argv = ["wrk", f"-t{a.load_threads}", "-c", str(a.connections), "-d", f"{max(1, round(duration))}s",
                "--latency", "--timeout", "5s", f"http://127.0.0.1:{port}/"]
        return ["taskset", "-c", a.load_cpus] + argv, R.parse_wrk
    argv = [bins["bench"], "--port", str(port), "--path", "/", "--connections", str(a.connections),
            "--duration", str(duration), "--warmup", "0", "--timeout", "5", "--json"]
    return ["taskset", "-c", a.load_cpus] + argv, R.parse_bench


def start(bins, n, port, a, workdir):
    log = open(os.path.join(workdir, f"bench-server-reactors{n}.log"), "w")
    argv = ["taskset", "-c", a.server_cpus, bins["bench-server"], "hello", "--port", str(port), "--reactors", str(n)]
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    if not R.wait_port(port):
        proc.kill()
        sys.exit(f"bench-server --reactors {n} did not start; see {log.name}")
    return {"n": n, "port": port, "proc": proc, "log": log}


def stop(server):
    """SIGTERM (a graceful shutdown), then the per-reactor connection counts it prints."""
    proc = server["proc"]
    proc.send_signal(15)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    server["log"].close()
    counts = {}
    with open(server["log"].name) as f:
        for line in f:
            m = re.match(r"reactor (\d+) connections (\d+)", line)
            if m:
                counts[f"reactor {m.group(1)}"] = int(m.group(2))
    return counts


def measured(server, a, bins, duration):
    pid = server["proc"].pid
    argv, parse = load_argv(a, bins, server["port"], duration)
    R.settle(a.server_cpus.split(",")[0].split("-")[0])
    t0, p0 = thread_ticks(pid), R.proc_cpu_ticks(pid)
    res = R.run_load_rusage(argv, parse)
    t1, p1 = thread_ticks(pid), R.proc_cpu_ticks(pid)
    reqs = res.get("requests", 0)
    res["server_cpu_us"] = (p1 - p0) * 1e6 / R.CLK_TCK
    res["cpu_us_per_req"] = res["server_cpu_us"] / reqs if reqs else None
    res["cpu_ticks_by_thread"] = split_ticks(pid, t0, t1)
    res.pop("raw_tail", None)
    return res


def compare(a, bins, workdir):
    """Runs every N of `a.reactors` interleaved; returns the results (also printed)."""
    counts = [int(n) for n in str(a.reactors).split(",") if n]
    servers = [start(bins, n, a.base_port + i, a, workdir) for i, n in enumerate(counts)]
    results = {"method": __doc__.strip().split("\n\n")[-1], "server_cpus": a.server_cpus, "load_cpus": a.load_cpus,
               "client": a.client, "connections": a.connections, "runs": {}, "connections_by_reactor": {}}
    try:
        for s in servers:
            if a.warmup > 0:
                measured(s, a, bins, a.warmup)
        for rnd in range(a.rounds):
            for s in servers:
                r = measured(s, a, bins, a.duration)
                results["runs"].setdefault(str(s["n"]), []).append(r)
                total = sum(r["cpu_ticks_by_thread"].values()) or 1
                split = "  ".join(f"{k} {100 * v / total:.0f}%" for k, v in sorted(r["cpu_ticks_by_thread"].items()))
                R.log(f"  [{rnd + 1}/{a.rounds}] --reactors {s['n']}: {R.fmt(r.get('rps'), 0):>9} req/s  "
                      f"{R.fmt(r.get('cpu_us_per_req'), 2):>6} µs/req  CPU: {split}  errors {r.get('errors', 0)}")
    finally:
        for s in servers:
            results["connections_by_reactor"][str(s["n"])] = stop(s)
    R.log("\nmedians:")
    for s in servers:
        runs = results["runs"].get(str(s["n"]), [])
        rps = R.median([r.get("rps") for r in runs])
        cpu = R.median([r.get("cpu_us_per_req") for r in runs])
        ticks = {}
        for r in runs:
            for k, v in r["cpu_ticks_by_thread"].items():
                ticks[k] = ticks.get(k, 0) + v
        total = sum(ticks.values()) or 1
        conns = results["connections_by_reactor"][str(s["n"])]
        results.setdefault("median", {})[str(s["n"])] = {
            "rps": rps, "cpu_us_per_req": cpu,
            "cpu_share": {k: v / total for k, v in sorted(ticks.items())}, "connections": conns}
        R.log(f"  --reactors {s['n']}: {R.fmt(rps, 0)} req/s, {R.fmt(cpu, 2)} µs/req; CPU "
              + ", ".join(f"{k} {100 * v / total:.0f}%" for k, v in sorted(ticks.items()))
              + (("; connections " + ", ".join(f"{k} {v}" for k, v in sorted(conns.items()))) if conns else ""))
    if (os.cpu_count() or 1) <= 2 or a.server_cpus == "0":
        R.log("  (the server's reactors share its cores here, so this shows cost and split, not scaling; "
              "see the command for a larger machine in Benchmarks/reactors.py)")
    return results


def add_arguments(ap, standalone):
    if standalone:
        ap.add_argument("--reactors", default="1,2", help="comma-separated reactor counts to compare")
        ap.add_argument("--rounds", type=int, default=3)
        ap.add_argument("--duration", type=float, default=3.0)
        ap.add_argument("--warmup", type=float, default=1.0)
        ap.add_argument("--no-build", action="store_true")
        ap.add_argument("--base-port", type=int, default=18400)
        ap.add_argument("--out", default=None)
    ap.add_argument("--server-cpus", default=R.SERVER_CPU, help="--reactors: taskset list for the server")
    ap.add_argument("--load-cpus", default=R.LOAD_CPU, help="--reactors: taskset list for the load generator")
    ap.add_argument("--load-threads", type=int, default=1, help="--reactors: wrk threads")
    ap.add_argument("--connections", type=int, default=256, help="--reactors: keep-alive connections")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(ap, standalone=True)
    a = ap.parse_args()
    a.client = "wrk" if R.have("wrk") else "bench"
    products = ["bench-server"] + (["bench"] if a.client == "bench" else [])
    bins = R.prebuilt(products) if a.no_build else R.swift_build(products, False)
    if not bins.get("bench-server"):
        sys.exit("no bench-server")
    workdir = os.path.join("/tmp", f"reactors-{os.getpid()}")
    os.makedirs(workdir, exist_ok=True)
    results = compare(a, bins, workdir)
    if a.out:
        with open(a.out, "w") as f:
            json.dump(results, f, indent=1, default=str)


if __name__ == "__main__":
    main()
