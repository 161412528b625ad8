"""Read the OTLP/HTTP protobuf log exports the Loki stand-in recorded, without a protobuf library.

The collector's otlp_http exporter sends ExportLogsServiceRequest messages in protobuf. This
walks the protobuf wire format for the few messages of opentelemetry-proto
(opentelemetry/proto/logs/v1/logs.proto, common/v1/common.proto, resource/v1/resource.proto)
that hold what the tests look at: resource attributes, and each log record's attributes.
"""

from __future__ import annotations

import struct

# Field numbers of opentelemetry-proto (v1.x): LogsData.resource_logs = 1;
# ResourceLogs.resource = 1, .scope_logs = 2; Resource.attributes = 1; ScopeLogs.log_records = 2;
# LogRecord.attributes = 6; KeyValue.key = 1, .value = 2; AnyValue.string_value = 1,
# .bool_value = 2, .int_value = 3, .double_value = 4, .array_value = 5, .kvlist_value = 6,
# .bytes_value = 7; ArrayValue.values = 1; KeyValueList.values = 1.


def _varint(buf, pos):
    result = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def fields(buf):
    """[(field number, value)] of one message; length-delimited values as bytes."""
    out = []
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos:pos + 8], pos + 8
        elif wire == 2:
            length, pos = _varint(buf, pos)
            value, pos = buf[pos:pos + length], pos + length
        elif wire == 5:
            value, pos = buf[pos:pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        out.append((number, value))
    return out


def any_value(buf):
    for number, value in fields(buf):
        if number == 1:
            return value.decode("utf-8")
        if number == 2:
            return bool(value)
        if number == 3:
            return value - (1 << 64) if value >= 1 << 63 else value
        if number == 4:
            return struct.unpack("<d", value)[0]
        if number == 5:
            return [any_value(item) for n, item in fields(value) if n == 1]
        if number == 6:
            return attributes(value, 1)
        if number == 7:
            return bytes(value)
    return None


def attributes(buf, field_number):
    """{key: value} of the KeyValue entries in field FIELD_NUMBER of a message."""
    found = {}
    for number, value in fields(buf):
        if number != field_number:
            continue
        pair = dict(fields(value))
        found[pair[1].decode("utf-8")] = any_value(pair.get(2, b""))
    return found


def log_records(body):
    """[(resource attributes, record attributes)] of one ExportLogsServiceRequest."""
    records = []
    for number, resource_logs in fields(body):
        if number != 1:
            continue
        parts = fields(resource_logs)
        resource = next((attributes(value, 1) for n, value in parts if n == 1), {})
        for n, scope_logs in parts:
            if n != 2:
                continue
            for m, record in fields(scope_logs):
                if m == 2:
                    records.append((resource, attributes(record, 6)))
    return records
