#!/usr/bin/env python3
"""Soak test: the release build of HTTPServerKit under 10 million keep-alive requests mixed with bad
requests, resets, connection churn, slow clients and clients that never read; then 10,000 clients
that never read a 10 MiB response. Reports the server's RSS and open descriptors at the start, the
middle and the end: both must stay flat.

    python3 Benchmarks/soak/soak.py                 # 10 M requests, 10,000 stuck clients
    python3 Benchmarks/soak/soak.py --requests 1000000 --stuck 2000   # a shorter run

Exits non-zero when a response was wrong, the server died, or RSS / descriptors grew.
"""
import argparse, json, os, resource, signal, subprocess, sys, time

here = os.path.dirname(os.path.abspath(__file__))


def sample(pid):
    rss_kb = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss_kb = int(line.split()[1])
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return {"rss_mb": round(rss_kb / 1024, 1), "fds": fds, "cpu_s": round(cpu, 1)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=10_000_000)
    parser.add_argument("--stuck", type=int, default=10_000)
    parser.add_argument("--hold", type=float, default=3)
    parser.add_argument("--head-timeout", type=int, default=2)
    parser.add_argument("--send-timeout", type=int, default=8)
    parser.add_argument("--no-build", action="store_true")
    args = parser.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if not args.no_build:
        subprocess.run(["swift", "build", "-c", "release", "--package-path", here], check=True,
                       stdout=subprocess.DEVNULL)
    bindir = subprocess.run(["swift", "build", "-c", "release", "--package-path", here, "--show-bin-path"],
                            check=True, capture_output=True, text=True).stdout.strip()

    server = subprocess.Popen([os.path.join(bindir, "SoakServer"), str(args.head_timeout), str(args.send_timeout)],
                              stdout=subprocess.PIPE, text=True)
    port = int(server.stdout.readline().split()[1])
    samples = {"idle": sample(server.pid)}
    print(f"server pid {server.pid} port {port}: idle {samples['idle']}", flush=True)

    # Phase 1: the mixed load.
    client = subprocess.Popen([os.path.join(bindir, "SoakClient"), "mixed", str(port), str(args.requests)],
                              stdout=subprocess.PIPE, text=True)
    timeline = []
    last_print = 0
    summary = ""
    for line in client.stdout:
        if line.startswith("progress"):
            done = int(line.split()[1])
            s = sample(server.pid)
            s["requests"] = done
            timeline.append(s)
            if "start" not in samples and done >= args.requests * 0.05:
                samples["start"] = s
            if "middle" not in samples and done >= args.requests * 0.5:
                samples["middle"] = s
            if time.time() - last_print >= 10:
                last_print = time.time()
                print(f"  {line.strip()}  server {s}", flush=True)
        elif line.startswith("done"):
            summary = line.strip()
    client.wait()
    samples["end"] = timeline[-1] if timeline else sample(server.pid)
    print(summary, flush=True)
    time.sleep(3)  # lingering closes end
    samples["after"] = sample(server.pid)

    # Phase 2: clients that never read a 10 MiB response.
    stuck = subprocess.Popen([os.path.join(bindir, "SoakClient"), "stuck", str(port), str(args.stuck), str(args.hold)],
                             stdout=subprocess.PIPE, text=True)
    stuck_summary = ""
    for line in stuck.stdout:
        if line.startswith("stuck"):
            time.sleep(min(1, args.hold / 2))
            samples["stuck"] = sample(server.pid)
            print(f"{args.stuck} clients not reading 10 MiB each: server {samples['stuck']}", flush=True)
        elif line.startswith("done"):
            stuck_summary = line.strip()
    stuck.wait()
    print(stuck_summary, flush=True)
    time.sleep(3)
    samples["after stuck"] = sample(server.pid)
    server.send_signal(signal.SIGUSR1)  # malloc_trim: what is still in use
    time.sleep(1)
    samples["trimmed"] = sample(server.pid)

    server.send_signal(signal.SIGTERM)
    exit_code = server.wait(timeout=30)

    print()
    print(f"{'':14} {'requests':>10} {'RSS MB':>8} {'fds':>6} {'CPU s':>7}")
    for name in ["idle", "start", "middle", "end", "after", "stuck", "after stuck", "trimmed"]:
        s = samples.get(name)
        if s:
            print(f"{name:14} {s.get('requests', ''):>10} {s['rss_mb']:>8} {s['fds']:>6} {s['cpu_s']:>7}")
    if timeline:
        fds = [s["fds"] for s in timeline]
        rss = [s["rss_mb"] for s in timeline]
        print(f"during the mixed load: RSS {min(rss)}-{max(rss)} MB, descriptors {min(fds)}-{max(fds)} "
              f"({len(timeline)} samples, one a second)")
    print(f"server exit status after SIGTERM: {exit_code}")
    os.makedirs(os.path.join(here, "results"), exist_ok=True)
    with open(os.path.join(here, "results", "soak.json"), "w") as f:
        json.dump({"samples": samples, "timeline": timeline, "summary": summary, "stuck": stuck_summary}, f, indent=1)

    failures = []
    if client.returncode != 0:
        failures.append(f"the client saw wrong responses ({summary})")
    if exit_code != 0:
        failures.append(f"the server exited {exit_code}")
    start, end = samples.get("start"), samples.get("end")
    if start and end:
        if end["rss_mb"] > start["rss_mb"] * 1.10 + 5:
            failures.append(f"RSS grew from {start['rss_mb']} to {end['rss_mb']} MB")
        if end["fds"] > start["fds"] + 50:
            failures.append(f"descriptors grew from {start['fds']} to {end['fds']}")
    if samples["after stuck"]["fds"] > samples["idle"]["fds"] + 5:
        failures.append(f"descriptors left after the stuck clients: {samples['after stuck']['fds']}")
    for failure in failures:
        print("FAIL:", failure)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
