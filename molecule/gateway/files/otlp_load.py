"""A bounded load of OTLP requests, each with its own id, and what became of each one.

Part of the molecule `gateway` scenario (telemetry.claude_code): it runs on a test host and
sends only to the address it is given (the gateway on the host's loopback). It stops by itself
after --duration seconds.

Every request carries a unique id in the attribute `gateway.request_id` (a data-point attribute
for metrics, a log-record attribute for logs), so that the collector's debug exporter shows, id
by id, which requests it accepted. The result file is JSON: one record per request (id, signal,
outcome, seconds) and a summary.

    python3 otlp_load.py http --url http://127.0.0.1:4318 --run R --duration 20 --rate 40 --out F
    python3 otlp_load.py grpc --url http://127.0.0.1:4317 --run R --duration 20 --rate 20 --out F

http: OTLP/HTTP JSON (`/v1/metrics` and `/v1/logs` in turn) with Python's http.client. Each
worker is one client that sends one request at a time, like an OpenTelemetry SDK exporter; with
--connection keepalive (the default) it keeps its connection open between requests and, like
Node's HTTP agent that Claude Code's exporter uses, opens a new one when the server has closed
the idle one. A request that fails is NOT retried: it counts as failed.

grpc: OTLP/gRPC (`MetricsService/Export` and `LogsService/Export` in turn) over HTTP/2, sent by
curl (--http2-prior-knowledge for h2c, ALPN h2 over TLS), --batch requests per curl process on
one HTTP/2 connection. Success is HTTP 200 with the trailer grpc-status 0. The protobuf
messages are encoded here by hand (field numbers of opentelemetry-proto v1:
opentelemetry/proto/metrics/v1/metrics.proto, logs/v1/logs.proto, common/v1/common.proto).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import select
import ssl
import struct
import subprocess
import tempfile
import threading
import time
import urllib.parse

TIMEOUT_DEFAULT = 10.0  # OTEL_EXPORTER_OTLP_TIMEOUT's default in the OpenTelemetry specification


# --- OTLP/HTTP JSON --------------------------------------------------------------------------

def _attributes(mapping):
    return [{"key": k, "value": {"stringValue": v}} for k, v in mapping.items()]


def metrics_json(request_id, pad=""):
    now = time.time_ns()
    attributes = {"gateway.request_id": request_id, "session.id": "gateway-load"}
    return {"resourceMetrics": [{
        "resource": {"attributes": _attributes({"service.name": "claude-code"})},
        "scopeMetrics": [{
            "scope": {"name": "com.anthropic.claude_code"},
            "metrics": [{
                "name": "claude_code.cost.usage",
                "description": pad,
                "unit": "USD",
                "sum": {
                    "aggregationTemporality": 1,
                    "isMonotonic": True,
                    "dataPoints": [{
                        "startTimeUnixNano": str(now - 10**9),
                        "timeUnixNano": str(now),
                        "asDouble": 0.001,
                        "attributes": _attributes(attributes),
                    }],
                },
            }],
        }],
    }]}


def logs_json(request_id):
    now = str(time.time_ns())
    attributes = {"gateway.request_id": request_id, "event.name": "api_request", "session.id": "gateway-load"}
    return {"resourceLogs": [{
        "resource": {"attributes": _attributes({"service.name": "claude-code"})},
        "scopeLogs": [{
            "scope": {"name": "com.anthropic.claude_code.events"},
            "logRecords": [{
                "timeUnixNano": now,
                "observedTimeUnixNano": now,
                "body": {"stringValue": "claude_code.api_request"},
                "attributes": _attributes(attributes),
            }],
        }],
    }]}


# --- OTLP/gRPC protobuf ------------------------------------------------------------------------

def _varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number, payload):
    """A length-delimited field (wire type 2)."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _string(number, text):
    return _field(number, text.encode())


def _key_values(number, mapping):
    # KeyValue{key=1, value=2: AnyValue{string_value=1}}
    return b"".join(_field(number, _string(1, k) + _field(2, _string(1, v))) for k, v in mapping.items())


def _fixed64(number, value):
    return _varint(number << 3 | 1) + struct.pack("<Q", value)


def metrics_protobuf(request_id, pad=""):
    now = time.time_ns()
    attributes = {"gateway.request_id": request_id, "session.id": "gateway-load"}
    # NumberDataPoint{start_time_unix_nano=2, time_unix_nano=3, as_double=4, attributes=7}
    point = (_fixed64(2, now - 10**9) + _fixed64(3, now) + _varint(4 << 3 | 1) + struct.pack("<d", 0.001)
             + _key_values(7, attributes))
    # Sum{data_points=1, aggregation_temporality=2 (1: DELTA), is_monotonic=3}
    total = _field(1, point) + _varint(2 << 3) + _varint(1) + _varint(3 << 3) + _varint(1)
    # Metric{name=1, description=2, unit=3, sum=7}
    metric = _string(1, "claude_code.cost.usage") + _string(2, pad) + _string(3, "USD") + _field(7, total)
    # ScopeMetrics{scope=1: InstrumentationScope{name=1}, metrics=2}
    scope = _field(1, _string(1, "com.anthropic.claude_code")) + _field(2, metric)
    # ResourceMetrics{resource=1: Resource{attributes=1}, scope_metrics=2}
    resource = _field(1, _key_values(1, {"service.name": "claude-code"})) + _field(2, scope)
    # ExportMetricsServiceRequest{resource_metrics=1}
    return _field(1, resource)


def logs_protobuf(request_id):
    now = time.time_ns()
    attributes = {"gateway.request_id": request_id, "event.name": "api_request", "session.id": "gateway-load"}
    # LogRecord{time_unix_nano=1, observed_time_unix_nano=11, body=5: AnyValue, attributes=6}
    record = (_fixed64(1, now) + _fixed64(11, now) + _field(5, _string(1, "claude_code.api_request"))
              + _key_values(6, attributes))
    # ScopeLogs{scope=1, log_records=2}; ResourceLogs{resource=1, scope_logs=2}
    scope = _field(1, _string(1, "com.anthropic.claude_code.events")) + _field(2, record)
    resource = _field(1, _key_values(1, {"service.name": "claude-code"})) + _field(2, scope)
    # ExportLogsServiceRequest{resource_logs=1}
    return _field(1, resource)


GRPC_PATHS = {
    "metrics": "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
    "logs": "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
}


def grpc_status(headers_file):
    """The last grpc-status in a curl header dump (response headers, then trailers), or None."""
    status = None
    if os.path.exists(headers_file):
        with open(headers_file, encoding="latin-1") as handle:
            for line in handle:
                name, _colon, value = line.partition(":")
                if name.strip().lower() == "grpc-status":
                    status = value.strip()
    return status


# --- the load ----------------------------------------------------------------------------------

class Load:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.counter = 0
        self.records = []
        self.deadline = time.monotonic() + args.duration
        self.signals = args.signals.split(",")

    def next_id(self):
        with self.lock:
            self.counter += 1
            if self.args.max_requests and self.counter > self.args.max_requests:
                return None, None
            number = self.counter
        return f"{self.args.run}-{number:06d}", self.signals[number % len(self.signals)]

    def record(self, request_id, signal, outcome, started):
        entry = {"id": request_id, "signal": signal, "outcome": outcome,
                 "start": round(started - self.t0, 3), "seconds": round(time.monotonic() - started, 3)}
        with self.lock:
            self.records.append(entry)

    def pace(self, worker_start, sent):
        """Sleep until this worker's next slot; each worker sends rate/workers requests a second."""
        interval = self.args.workers / self.args.rate
        wait = worker_start + sent * interval - time.monotonic()
        if wait > 0:
            time.sleep(min(wait, max(0.0, self.deadline - time.monotonic())))

    def run(self):
        self.t0 = time.monotonic()
        worker = self.http_worker if self.args.mode == "http" else self.grpc_worker
        threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(self.args.workers)]
        for thread in threads:
            thread.start()
            time.sleep(1.0 / self.args.rate)
        for thread in threads:
            thread.join(self.args.duration + 4 * self.args.timeout + 60)
        return self.summary()

    # HTTP/1.1, JSON bodies
    def connect(self):
        url = urllib.parse.urlsplit(self.args.url)
        if url.scheme == "https":
            context = ssl.create_default_context(cafile=self.args.cacert or None)
            return http.client.HTTPSConnection(url.hostname, url.port or 443, timeout=self.args.timeout, context=context)
        return http.client.HTTPConnection(url.hostname, url.port or 80, timeout=self.args.timeout)

    @staticmethod
    def closed_by_peer(connection):
        """True when the server has closed this idle connection: an idle HTTP/1.1 connection
        has nothing to read unless the server closed it (EOF, or TLS close_notify)."""
        if connection.sock is None:
            return True
        try:
            readable = select.select([connection.sock], [], [], 0)[0]
        except (OSError, ValueError):
            return True
        return bool(readable)

    def http_worker(self, number):
        headers = {"Content-Type": "application/json"}
        if self.args.token:
            headers["Authorization"] = "Bearer " + self.args.token
        connection = None
        start, sent = time.monotonic(), 0
        pad = "x" * self.args.pad
        while time.monotonic() < self.deadline:
            request_id, signal = self.next_id()
            if request_id is None:
                break
            body = json.dumps(metrics_json(request_id, pad) if signal == "metrics" else logs_json(request_id)).encode()
            if connection is not None and (self.args.connection == "new" or self.closed_by_peer(connection)):
                connection.close()
                connection = None
            if connection is None:
                connection = self.connect()
            started = time.monotonic()
            try:
                connection.request("POST", f"/v1/{signal}", body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                outcome = str(response.status)
                if response.getheader("Connection", "").lower() == "close":
                    connection.close()
                    connection = None
            except (OSError, http.client.HTTPException) as error:
                outcome = f"error: {type(error).__name__}: {error}"
                connection.close()
                connection = None
            self.record(request_id, signal, outcome, started)
            sent += 1
            self.pace(start, sent)
        if connection is not None:
            connection.close()

    # gRPC over HTTP/2 through curl, --batch requests on one connection
    def grpc_worker(self, number):
        url = self.args.url.rstrip("/")
        pad = "x" * self.args.pad
        start, sent = time.monotonic(), 0
        with tempfile.TemporaryDirectory(prefix="otlp-load-") as scratch:
            while time.monotonic() < self.deadline:
                batch = []
                for _slot in range(self.args.batch):
                    request_id, signal = self.next_id()
                    if request_id is None:
                        break
                    message = metrics_protobuf(request_id, pad) if signal == "metrics" else logs_protobuf(request_id)
                    path = os.path.join(scratch, f"{request_id}.bin")
                    with open(path, "wb") as handle:
                        handle.write(b"\x00" + struct.pack(">I", len(message)) + message)
                    batch.append((request_id, signal, path))
                if not batch:
                    break
                command = ["curl", "-sS"]
                for i, (request_id, signal, path) in enumerate(batch):
                    if i:
                        command.append("--next")
                    # The trailers (grpc-status) are in the header dump: %header{} has them in
                    # curl 7.88 but not in curl 8.
                    command += ["-o", "/dev/null", "-D", path + ".headers", "--max-time", str(self.args.timeout),
                                "-H", "content-type: application/grpc", "-H", "te: trailers",
                                "--data-binary", "@" + path,
                                "-w", request_id + " %{http_code} %{time_total}\\n"]
                    if self.args.token:
                        command += ["-H", "authorization: Bearer " + self.args.token]
                    if url.startswith("https:"):
                        command += ["--http2", "--cacert", self.args.cacert]
                    else:
                        command += ["--http2-prior-knowledge"]
                    command.append(url + GRPC_PATHS[signal])
                started = time.monotonic()
                result = subprocess.run(command, capture_output=True, text=True, check=False,
                                        timeout=self.args.timeout * len(batch) + 30)
                answered = {}
                for line in result.stdout.splitlines():
                    parts = line.split()
                    if len(parts) == 3:
                        answered[parts[0]] = parts
                elapsed = time.monotonic() - started
                for request_id, signal, path in batch:
                    parts = answered.get(request_id)
                    status = grpc_status(path + ".headers")
                    if parts is None:
                        outcome = "error: no result from curl: " + result.stderr.strip()[-200:]
                    elif parts[1] == "200" and status == "0":
                        outcome = "200"
                    else:
                        outcome = f"error: HTTP {parts[1]} grpc-status {status!r} " + result.stderr.strip()[-200:]
                    entry_seconds = float(parts[2]) if parts else elapsed
                    with self.lock:
                        self.records.append({"id": request_id, "signal": signal, "outcome": outcome,
                                             "start": round(started - self.t0, 3), "seconds": round(entry_seconds, 3)})
                    for leftover in (path, path + ".headers"):
                        if os.path.exists(leftover):
                            os.unlink(leftover)
                sent += len(batch)
                self.pace(start, sent)

    def summary(self):
        ok = [r for r in self.records if r["outcome"] == "200"]
        failed = [r for r in self.records if r["outcome"] != "200"]
        seconds = sorted(r["seconds"] for r in self.records) or [0.0]
        return {
            "run": self.args.run,
            "mode": self.args.mode,
            "url": self.args.url,
            "sent": len(self.records),
            "ok": len(ok),
            "failed": len(failed),
            "failures": failed[:20],
            "max_seconds": seconds[-1],
            "p50_seconds": seconds[len(seconds) // 2],
            "held_over_1s": sum(1 for s in seconds if s > 1.0),
            "records": self.records,
        }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("mode", choices=["http", "grpc"])
    parser.add_argument("--url", required=True, help="the gateway, such as http://127.0.0.1:4318")
    parser.add_argument("--run", required=True, help="prefix of the request ids of this run")
    parser.add_argument("--out", required=True, help="result file (JSON)")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of load (at most 600)")
    parser.add_argument("--rate", type=float, default=40.0, help="requests per second, all workers together")
    parser.add_argument("--workers", type=int, default=8, help="clients sending at the same time")
    parser.add_argument("--max-requests", type=int, default=0, help="stop after this many requests (0: no cap)")
    parser.add_argument("--signals", default="metrics,logs", help="signals in turn, among metrics and logs")
    parser.add_argument("--connection", choices=["keepalive", "new"], default="keepalive")
    parser.add_argument("--batch", type=int, default=1, help="grpc: requests per curl process (one connection)")
    parser.add_argument("--timeout", type=float, default=TIMEOUT_DEFAULT, help="seconds a client waits for an answer")
    parser.add_argument("--token", default="", help="bearer token to send")
    parser.add_argument("--cacert", default="", help="CA file for https")
    parser.add_argument("--pad", type=int, default=0, help="bytes of padding in the description of every metric")
    args = parser.parse_args()
    if not 0 < args.duration <= 600 or not 0 < args.rate <= 2000 or not 0 < args.workers <= 256:
        parser.error("duration must be in (0, 600], rate in (0, 2000], workers in (0, 256]")
    result = Load(args).run()
    with open(args.out + ".tmp", "w", encoding="utf-8") as handle:
        json.dump(result, handle)
    os.replace(args.out + ".tmp", args.out)
    print(json.dumps({k: v for k, v in result.items() if k not in ("records", "failures")}))


if __name__ == "__main__":
    main()
