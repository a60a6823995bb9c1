#!/usr/bin/env bash
# Scans this project's HTTPS server with testssl.sh (Debian package testssl.sh), and nginx with the
# same certificate for comparison when it is installed.
#
#   Benchmarks/tls-scan.sh [http-server binary]       (default: swift build -c release in the root)
#
# Prints testssl's findings of severity LOW and above for each server, and writes the full JSON
# reports to results/tls-scan-<stamp>/.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"

if ! command -v testssl >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq testssl.sh >/dev/null
    else
        echo "testssl (Debian package testssl.sh) is not installed" >&2
        exit 1
    fi
fi

binary="${1:-}"
if [ -z "$binary" ]; then
    (cd "$root" && swift build -c release --product http-server >/dev/null)
    binary="$root/.build/release/http-server"
fi

stamp="$(date -u +%Y-%m-%dT%H%M%SZ)"
out="$here/results/tls-scan-$stamp"
work="$(mktemp -d /tmp/tls-scan-XXXXXX)"
mkdir -p "$out"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/key.pem" \
    -out "$work/cert.pem" -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null
echo hello > "$work/index.html"

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

scan() {  # name port
    local name="$1" port="$2"
    echo "== $name (127.0.0.1:$port)"
    testssl --quiet --color 0 --warnings off --sneaky --ip one --jsonfile "$out/$name.json" \
        "127.0.0.1:$port" > "$out/$name.txt" 2>&1 || true
    python3 - "$out/$name.json" <<'PY'
import json, sys
order = {"CRITICAL": 5, "HIGH": 4, "MEDIUM": 3, "LOW": 2, "WARN": 1}
findings = [f for f in json.load(open(sys.argv[1])) if order.get(f.get("severity"), 0) >= 2]
findings.sort(key=lambda f: -order[f["severity"]])
for f in findings:
    print(f"  {f['severity']:8} {f['id']}: {f['finding']}")
if not findings:
    print("  no finding of severity LOW or above")
PY
}

port="$(free_port)"
"$binary" "$port" -b 127.0.0.1 -d "$work" -p HTTP/1.1 --tls-cert "$work/cert.pem" --tls-key "$work/key.pem" \
    > "$work/http-server.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do (echo > "/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
scan http-server "$port"

if command -v nginx >/dev/null 2>&1; then
    nport="$(free_port)"
    mkdir -p "$work/nginx"
    cat > "$work/nginx/nginx.conf" <<NGINX
worker_processes 1;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $work/nginx/body;
    proxy_temp_path $work/nginx/proxy;
    fastcgi_temp_path $work/nginx/fastcgi;
    uwsgi_temp_path $work/nginx/uwsgi;
    scgi_temp_path $work/nginx/scgi;
    server {
        listen 127.0.0.1:$nport ssl;
        ssl_certificate $work/cert.pem;
        ssl_certificate_key $work/key.pem;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_prefer_server_ciphers on;
        root $work;
    }
}
NGINX
    nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" &
    pids+=($!)
    for _ in $(seq 50); do (echo > "/dev/tcp/127.0.0.1/$nport") 2>/dev/null && break; sleep 0.1; done
    scan "nginx-defaults" "$nport"
fi
echo "full reports: $out"
