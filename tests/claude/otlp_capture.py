"""Tiny OTLP/HTTP JSON capture receiver (test tool, stdlib only).

Accepts ``POST /v1/metrics``, ``/v1/logs`` (and ``/v1/traces``) with JSON
bodies and appends one line per request to the output file::

    {"path": "/v1/metrics", "body": "<the OTLP JSON request body, as text>"}

(the same format as the reference captures in shared/reference/), then
answers ``200 {}``.  Protobuf bodies are refused with 415, since the point is
to capture ``OTEL_EXPORTER_OTLP_PROTOCOL=http/json`` exports.  gzip request
bodies are decompressed.

With ``--raw`` it takes any body (the collector's exporters send protobuf) and
records ``{"path": ..., "headers": {lower-case name: value}, "body_b64": ...}``
(the gunzipped body in base64), answering ``200`` with an empty body; the
molecule scenarios run it so as a stand-in for Loki's OTLP endpoint
(``--prefix /otlp``). It is not Loki.

Usage::

    python3 otlp_capture.py --port 4318 --out capture.jsonl [--bind 127.0.0.1]
    python3 otlp_capture.py --port 3100 --prefix /otlp --raw --out requests.jsonl
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

PATHS = ("/v1/metrics", "/v1/logs", "/v1/traces")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    out_path = "capture.jsonl"
    prefix = ""
    raw_mode = False
    lock = threading.Lock()

    def log_message(self, fmt, *args):
        pass

    def _reply(self, status: int, data: bytes = b"{}") -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()  # CRLF after each chunk
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_POST(self):
        path = urlsplit(self.path).path
        if self.prefix and path.startswith(self.prefix + "/"):
            path = path[len(self.prefix):]
        raw = self._read_body()
        if self.headers.get("Content-Encoding", "").lower() == "gzip":
            raw = gzip.decompress(raw)
        ctype = self.headers.get("Content-Type", "")
        if path not in PATHS:
            sys.stderr.write(f"[otlp-capture] POST {path}: unknown path\n")
            return self._reply(404, b'{"error":"unknown path"}')
        if self.raw_mode:
            entry = {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                     "body_b64": base64.b64encode(raw).decode("ascii")}
            with self.lock, open(self.out_path, "a", encoding="utf-8") as f:
                f.write(json.dumps(entry) + "\n")
            self.send_response(200)
            self.send_header("Content-Type", ctype or "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        try:
            text = raw.decode("utf-8")
            json.loads(text)
        except ValueError:
            sys.stderr.write(f"[otlp-capture] POST {path}: not JSON ({ctype}, {dict(self.headers)})\n")
            return self._reply(415, b'{"error":"only http/json is captured"}')
        with self.lock, open(self.out_path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"path": path, "body": text}) + "\n")
        sys.stderr.write(f"[otlp-capture] POST {path} {len(raw)} bytes\n")
        self._reply(200)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Capture OTLP/HTTP JSON exports to a JSON-lines file.")
    p.add_argument("--port", type=int, default=4318)
    p.add_argument("--bind", default="127.0.0.1")
    p.add_argument("--out", required=True, help="JSON-lines file to append to")
    p.add_argument("--prefix", default="", help="path prefix to accept before /v1/..., e.g. /otlp (Loki's OTLP path)")
    p.add_argument("--raw", action="store_true", help="record any body (protobuf too) in base64, with the headers")
    args = p.parse_args(argv)
    Handler.out_path = args.out
    Handler.raw_mode = args.raw
    Handler.prefix = args.prefix.rstrip("/")
    server = ThreadingHTTPServer((args.bind, args.port), Handler)
    server.daemon_threads = True
    sys.stderr.write(f"[otlp-capture] listening on http://{args.bind}:{server.server_address[1]} -> {args.out}\n")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
