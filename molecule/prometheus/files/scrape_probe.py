"""A scrape target that answers like a client_golang exporter, and records what it is asked.

It exposes one counter, tcc.probe.scrapes_total (how often it was scraped), which was created
when the probe started, the way the OpenTelemetry Collector's Prometheus exporter exposes Claude
Code's counters (a new series per session, first seen at a value above zero):
  - in protobuf (io.prometheus.client.MetricFamily, delimited), with the counter's created
    timestamp, when the scraper prefers protobuf (Prometheus 2.50+ with
    created-timestamp-zero-ingestion); otherwise in the text format, without it;
  - with the name as it is (dots) when the Accept header says escaping=allow-utf-8, with
    underscores (tcc_probe_scrapes_total) otherwise: no escaping parameter means underscores
    (client_golang's expfmt).
Each request's Accept header is appended to LOGFILE, one line each, and the created timestamp
is written to LOGFILE's name with .created for .log, for the scenario's tests.

usage: python3 scrape_probe.py PORT LOGFILE
"""

import http.server
import struct
import sys
import time

PORT = int(sys.argv[1])
LOG = sys.argv[2]
CREATED = time.time()
PROTOBUF = "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"
scrapes = 0
with open(LOG.removesuffix(".log") + ".created", "w", encoding="utf-8") as created_file:
    created_file.write(f"{CREATED:.3f}\n")


def _varint(n):
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number, wire_type, payload):
    key = _varint(number << 3 | wire_type)
    if wire_type == 2:  # length-delimited
        return key + _varint(len(payload)) + payload
    return key + payload


def metric_family(name, value, created):
    """io.prometheus.client.MetricFamily (prometheus/client_model io/prometheus/client/metrics.proto):
    name=1, help=2, type=3 (COUNTER=0), metric=4; Metric.counter=3; Counter.value=1 (double),
    Counter.created_timestamp=3 (google.protobuf.Timestamp: seconds=1, nanos=2)."""
    seconds = int(created)
    timestamp = _field(1, 0, _varint(seconds)) + _field(2, 0, _varint(int((created - seconds) * 1e9)))
    counter = _field(1, 1, struct.pack("<d", value)) + _field(3, 2, timestamp)
    family = (_field(1, 2, name.encode()) + _field(2, 2, b"Scrapes of the probe.")
              + _field(3, 0, _varint(0)) + _field(4, 2, _field(3, 2, counter)))
    return _varint(len(family)) + family


class Probe(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        global scrapes  # pylint: disable=global-statement
        accept = self.headers.get("Accept", "")
        with open(LOG, "a", encoding="utf-8") as log:
            log.write(accept.replace("\n", " ") + "\n")
        scrapes += 1
        name = "tcc.probe.scrapes_total" if "escaping=allow-utf-8" in accept else "tcc_probe_scrapes_total"
        if accept.startswith("application/vnd.google.protobuf"):
            data, ctype = metric_family(name, scrapes, CREATED), PROTOBUF
        elif "." in name:
            data = f'# TYPE "{name}" counter\n{{"{name}"}} {scrapes}\n'.encode()
            ctype = "text/plain; version=1.0.0; charset=utf-8; escaping=allow-utf-8"
        else:
            data = f"# TYPE {name} counter\n{name} {scrapes}\n".encode()
            ctype = "text/plain; version=0.0.4; charset=utf-8"
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):  # keep the journal quiet
        pass


http.server.HTTPServer(("127.0.0.1", PORT), Probe).serve_forever()
