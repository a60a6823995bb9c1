"""A CPython http.server handler that answers GET /CODE[?message[&explain]] with send_error,
for differential tests of error pages. Prints its port, then serves until stdin closes."""
import http.server, sys, threading, urllib.parse

class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args):
        pass
    def do_GET(self):
        path, _, query = self.path.partition("?")
        parts = [urllib.parse.unquote(p) for p in query.split("&")] if query else []
        code = int(path.strip("/"))
        self.send_error(code, *parts)
    do_HEAD = do_GET

server = http.server.HTTPServer(("127.0.0.1", 0), H)
print(server.server_port, flush=True)
threading.Thread(target=server.serve_forever, daemon=True).start()
sys.stdin.read()
