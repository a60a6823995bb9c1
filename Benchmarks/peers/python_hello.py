#!/usr/bin/env python3
"""Peer: Python's http.server with a hello handler equivalent to `bench-server hello`.

    python_hello.py {hello,static,blocking} --port N [--bind ADDR] [--threading] [--directory DIR]

hello:  GET (any path) -> 200, 13-byte "Hello, World!", Content-Length, HTTP/1.1 keep-alive.
        POST/PUT read the body as Content-Length frames it and answer the same.
static: SimpleHTTPRequestHandler over --directory, HTTP/1.1.
blocking: hello after 10 ms of blocking work (time.sleep(0.01)), as `bench-server blocking`.
No access log; TCP_NODELAY on accepted sockets (disable_nagle_algorithm).
"""
import argparse
import functools
import http.server
import sys
import time

BODY = b"Hello, World!"


class HelloHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def _hello(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def do_GET(self):
        self._hello()

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self._hello()

    do_PUT = do_POST

    def log_message(self, format, *args):
        pass


class BlockingHandler(HelloHandler):
    def do_GET(self):
        time.sleep(0.01)
        self._hello()


class StaticHandler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format, *args):
        pass


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["hello", "static", "blocking"])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--bind", default="127.0.0.1")
    p.add_argument("--threading", action="store_true", help="ThreadingHTTPServer instead of HTTPServer")
    p.add_argument("--directory", default=".")
    a = p.parse_args()
    if a.mode == "hello":
        handler = HelloHandler
    elif a.mode == "blocking":
        handler = BlockingHandler
    else:
        handler = functools.partial(StaticHandler, directory=a.directory)
    cls = http.server.ThreadingHTTPServer if a.threading else http.server.HTTPServer
    cls.request_queue_size = 4096
    server = cls((a.bind, a.port), handler)
    print(f"python {cls.__name__} {a.mode} on {a.bind}:{a.port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
