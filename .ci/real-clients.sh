#!/usr/bin/env bash
# Real HTTP clients against the `http-server` executable (issue 14): curl (connection reuse,
# ranges, an upload with Expect: 100-continue), ApacheBench with and without -k, h2load --h1, and
# Python's http.client, urllib and requests. Any error, wrong answer or hang fails it: every client
# runs under a hard `timeout`. Installs what it needs with apt (and pip as a fallback for requests).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v curl > /dev/null || need+=(curl)
command -v ab > /dev/null || need+=(apache2-utils)
command -v h2load > /dev/null || need+=(nghttp2-client)
python3 -c 'import requests' 2> /dev/null || need+=(python3-requests)
if [ ${#need[@]} -gt 0 ]; then
    echo "== installing ${need[*]}"
    sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update > /tmp/real-clients-apt.log 2>&1 || true
    $sudo apt-get install -y "${need[@]}" >> /tmp/real-clients-apt.log 2>&1 \
        || { tail -20 /tmp/real-clients-apt.log; exit 1; }
fi
python3 -c 'import requests' 2> /dev/null || pip install requests > /dev/null 2>&1 \
    || pip install --break-system-packages requests > /dev/null

swift build --product http-server > /tmp/real-clients-build.log 2>&1 || { tail -30 /tmp/real-clients-build.log; exit 1; }
bin=$(swift build --show-bin-path)/http-server

root=$(mktemp -d)
head -c 100000 /dev/urandom > "$root/blob.bin"
printf 'Hello, real clients!\n' > "$root/hello.txt"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$bin" "$port" -b 127.0.0.1 -d "$root" --protocol HTTP/1.1 > /tmp/real-clients-server.log 2>&1 &
server=$!
cleanup() { kill "$server" 2> /dev/null || true; wait "$server" 2> /dev/null || true; rm -rf "$root"; }
trap cleanup EXIT
for _ in $(seq 100); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2> /dev/null && break
    sleep 0.1
done
url="http://127.0.0.1:$port"
passed=0; failed=0
check() {  # check NAME FUNCTION: runs FUNCTION in a shell of its own under a 60 s limit; it must exit 0
    local name=$1
    if timeout -k 5 60 bash -c "set -o pipefail; $2" > "/tmp/real-clients-$name.log" 2>&1; then
        echo "ok   $name"; passed=$((passed + 1))
    else
        echo "FAIL $name (exit $?)"; tail -20 "/tmp/real-clients-$name.log"; failed=$((failed + 1))
    fi
}

curl_reuse() {
    local out
    out=$(curl -sS -v -o /dev/null -o /dev/null "$url/hello.txt" "$url/blob.bin" 2>&1)
    grep -q "Re-using existing connection" <<< "$out"
}
curl_range() {
    local out
    out=$(curl -sS -r 10-19 -D - -o "$root/part" "$url/blob.bin")
    grep -q "^HTTP/1.1 206" <<< "$out" && cmp <(head -c 20 "$root/blob.bin" | tail -c 10) "$root/part"
}
curl_expect_100() {
    # The static handler has no POST: the body is announced with Expect: 100-continue, the server
    # asks handleExpect100 (yes), sends 100 Continue, reads the body and answers 501. No hang.
    local out
    out=$(curl -sS -v --expect100-timeout 30 -H 'Expect: 100-continue' --data-binary @"$root/blob.bin" \
        -o /dev/null -w '%{http_code}' "$url/upload" 2>&1)
    grep -q "HTTP/1.1 100 Continue" <<< "$out" && grep -q "501$" <<< "$out"
}
ab_plain() { ab -n 2000 -c 8 "$url/hello.txt" | tee /dev/stderr | grep -q "^Failed requests: *0"; }
ab_keepalive() {
    local out
    out=$(ab -k -n 2000 -c 8 "$url/hello.txt")
    echo "$out"
    grep -q "^Failed requests: *0" <<< "$out" && grep -q "^Keep-Alive requests: *2000" <<< "$out"
}
h2load_h1() {
    local out
    out=$(h2load --h1 -n 2000 -c 8 -m 4 "$url/hello.txt")
    echo "$out"
    grep -q "2000 succeeded, 0 failed, 0 errored, 0 timeout" <<< "$out"
}
python_clients() {
    python3 - "$url" "$root/blob.bin" <<'PY'
import http.client, sys, urllib.request, requests
url, blob = sys.argv[1], open(sys.argv[2], "rb").read()
host = url.split("//")[1]
# http.client: three requests on one connection (keep-alive), one of them HEAD.
c = http.client.HTTPConnection(host, timeout=10)
for method, path in [("GET", "/hello.txt"), ("HEAD", "/blob.bin"), ("GET", "/blob.bin")]:
    c.request(method, path)
    r = c.getresponse()
    body = r.read()
    assert r.status == 200, (method, path, r.status)
    if path == "/blob.bin" and method == "GET": assert body == blob
    assert r.getheader("Connection", "").lower() != "close", r.getheaders()
sock = c.sock
c.request("GET", "/hello.txt"); c.getresponse().read()
assert c.sock is sock, "http.client opened a new connection"
c.close()
# HTTP/1.0 with keep-alive, as ab -k sends it: the server must say keep-alive, and serve a second request.
c = http.client.HTTPConnection(host, timeout=10)
c._http_vsn, c._http_vsn_str = 10, "HTTP/1.0"
c.request("GET", "/hello.txt", headers={"Connection": "keep-alive"})
r = c.getresponse(); r.read()
assert r.getheader("Connection", "").lower() == "keep-alive", r.getheaders()
# urllib.
with urllib.request.urlopen(url + "/hello.txt", timeout=10) as r:
    assert r.status == 200 and r.read() == b"Hello, real clients!\n"
try:
    urllib.request.urlopen(url + "/missing", timeout=10)
    raise AssertionError("no 404")
except urllib.error.HTTPError as e:
    assert e.code == 404
# requests: a Session reuses its connection; ranges; a POST the static handler refuses (501).
with requests.Session() as s:
    for _ in range(20):
        r = s.get(url + "/blob.bin", timeout=10)
        assert r.status_code == 200 and r.content == blob
    r = s.get(url + "/blob.bin", headers={"Range": "bytes=-100"}, timeout=10)
    assert r.status_code == 206 and r.content == blob[-100:], r.status_code
    r = s.post(url + "/x", data=b"abc", timeout=10)
    assert r.status_code == 501, r.status_code
print("python clients ok")
PY
}

export url root
export -f curl_reuse curl_range curl_expect_100 ab_plain ab_keepalive h2load_h1 python_clients
check curl-reuse curl_reuse
check curl-range curl_range
check curl-expect-100 curl_expect_100
check ab ab_plain
check ab-keepalive ab_keepalive
check h2load-h1 h2load_h1
check python python_clients
kill -0 "$server" || { echo "the server died"; cat /tmp/real-clients-server.log | tail -20; exit 1; }
echo "real clients: $passed passed, $failed failed"
[ "$failed" = 0 ]
