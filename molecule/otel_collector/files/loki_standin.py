"""A stand-in for Loki's OTLP endpoint, for the otel_collector scenario only.

It is not Loki: it accepts every POST under /otlp/, answers 200 with an empty
OTLP response and appends one JSON line per request to the record file, with
the path, the headers (names in lower case) and the (gunzipped) body in base64.
The tests stop and start it to play a Loki outage.

usage: loki_standin.py LISTEN_HOST PORT RECORD_FILE
"""

import base64
import gzip
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    record_file = ""

    def do_POST(self):  # noqa: N802 (http.server naming)
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.headers.get("Content-Encoding", "") == "gzip":
            body = gzip.decompress(body)
        entry = {
            "path": self.path,
            "headers": {name.lower(): value for name, value in self.headers.items()},
            "body_b64": base64.b64encode(body).decode("ascii"),
        }
        with open(self.record_file, "a", encoding="utf-8") as out:
            out.write(json.dumps(entry) + "\n")
        if not self.path.startswith("/otlp/"):
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", self.headers.get("Content-Type", "application/x-protobuf"))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, fmt, *args):
        sys.stderr.write("loki-standin: " + (fmt % args) + "\n")


def main():
    host, port, record = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    Handler.record_file = record
    ThreadingHTTPServer((host, port), Handler).serve_forever()


if __name__ == "__main__":
    main()
