# -*- coding: utf-8 -*-
# Copyright: telemetry.claude_code developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A fleet counter's history, computed from the per-session series Prometheus already holds.

The fleet counter (``pricing.fleet_counter``; roles/prometheus/README.md, "Query cost") only
knows what accrued after its rule was deployed, so a dashboard range that reaches back before
that would show nothing. This module computes the values the rule would have written, from the
output of ``promtool tsdb dump`` for the counter's metric, as OpenMetrics text for
``promtool tsdb create-blocks-from openmetrics`` and as a remote-write request.

What the rule counts: at time x, with settling delay L, every sample with a timestamp up to
x - L, each by what it adds to its series (its value minus the series' previous value, or its
whole value when the series had none in the LOOKBACK before it: ``pricing.accrued``), summed by
the rule's ``by`` labels. Summed over the rule's one-step windows this is the same total
for counters that only grow (the collector starts a new series, label ``stream_start``, for
every restart of a stream).

Where the history goes. ``promtool tsdb create-blocks-from openmetrics`` writes blocks, and a
block must not reach into the time Prometheus still holds in its head (the last two to three
hours, not yet in a block of its own): when Prometheus next loads its blocks (a restart, a
compaction), it drops from the head every sample older than the newest block's end, so raw
samples of those hours would be lost (``tsdb/db.go``, ``reload``: ``db.head.Truncate(maxt)``; on
a restart the WAL replay skips samples before ``minValidTime``, ``tsdb/head_wal.go``; Prometheus's
documentation says the same of backfilling the last three hours). ``split_history`` cuts the
history at the end of the newest persisted block (``persisted_until``): what is older goes into
blocks, the rest is sent to Prometheus's remote-write receiver (``write_request``), which
appends it to the head (samples older than an hour before the head's newest one are
out-of-order samples: the receiver takes them within ``out_of_order_time_window``, 1d by
default in this collection's prometheus role).

The history has a sample every ``grid`` seconds (on whole multiples of it), and, over the last
``detail`` seconds before ``end``, one more wherever the value changes. So the value read at any
instant of those last seconds is the counter's exact value then. A rule deployed within
``detail`` (its healing window W) after ``end`` then continues without a gap, whatever the phase
at which Prometheus evaluates the group: its healing term reads ``C offset W``, which the history
answers exactly, and adds what accrued since. (Its step term starts from the history's last
value and misses what accrued between ``end`` and a step before the first evaluation; the rule
takes the larger term.)

Plain Python with no Ansible imports; streams its input (the dump of a month of 10,000 sessions
a day is millions of lines).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import json
import math
import os
import re
import struct

try:
    from ansible_collections.telemetry.claude_code.plugins.module_utils.pricing import FLEET_SESSIONS_STARTED
except ImportError:  # the benchmarks and unit tests put plugins/module_utils on sys.path
    from pricing import FLEET_SESSIONS_STARTED  # pylint: disable=import-error

# A label pair of promtool's dump (Go's strconv.Quote of the value).
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
_ESCAPES = {"\\\\": "\\", '\\"': '"', "\\n": "\n", "\\t": "\t"}


def _unquote(value):
    if "\\" not in value:
        return value
    return re.sub(r'\\[\\"nt]', lambda match: _ESCAPES[match.group(0)], value)


def parse_dump_line(line):
    """``{labels} value timestamp_ms`` (a line of ``promtool tsdb dump``) -> (labels text, value, ms).

    The value is None for a stale marker or any value that is not a finite number."""
    labels, _sep, rest = line.rstrip("\n").rpartition("} ")
    if not labels.startswith("{"):
        raise ValueError("not a line of promtool tsdb dump: {0!r}".format(line[:200]))
    value, _sep, stamp = rest.partition(" ")
    number = float(value)
    return labels + "}", (number if math.isfinite(number) else None), int(stamp)


def label_values(labels, names):
    """The values of the given label names in a dump's labels text ('' when absent)."""
    found = dict((name, _unquote(value)) for name, value in _LABEL.findall(labels))
    return tuple(found.get(name, "") for name in names)


class FleetSeed:
    """Collects the increments of every series of one metric and writes the counter's history.

    ``by``: the rule's grouping labels; ``settle``: L, ``lookback``: LOOKBACK, ``grid`` and
    ``detail`` in seconds; ``end``: the last instant of the history (Unix seconds), normally
    the time of the dump.
    """

    def __init__(self, by, end, settle=0, lookback=3600, grid=60, detail=0):
        self.by = tuple(by)
        self.end_ms = int(round(end * 1000))
        self.settle_ms = int(round(settle * 1000))
        self.lookback_ms = int(round(lookback * 1000))
        self.grid_ms = int(round(grid * 1000))
        # from a grid instant on, so that the changes after it add up to the next one
        self.detail_from_ms = (self.end_ms - int(round(detail * 1000))) // self.grid_ms * self.grid_ms
        self.buckets = {}  # group -> {grid index: increment}
        self.changes = {}  # group -> {instant ms: increment}, the last `detail` seconds
        self.series = 0
        self.samples = 0

    def add_series(self, labels, samples):
        """One series' samples: (ms, value) in time order, as the dump gives them."""
        group = label_values(labels, self.by)
        buckets = self.buckets.setdefault(group, {})
        changes = self.changes.setdefault(group, {})
        self.series += 1
        last_ms, last_value = None, 0.0
        for stamp, value in samples:
            if value is None:
                continue
            self.samples += 1
            previous = last_value if last_ms is not None and stamp - last_ms <= self.lookback_ms else 0.0
            last_ms, last_value = stamp, value
            if value != previous:
                # from the first instant the rule counts this sample
                self.count(group, stamp + self.settle_ms, value - previous, buckets, changes)

    def count(self, group, counted, delta, buckets=None, changes=None):
        """Add ``delta`` to the group from the instant ``counted`` (ms) on."""
        if counted > self.end_ms:
            return
        buckets = self.buckets.setdefault(group, {}) if buckets is None else buckets
        changes = self.changes.setdefault(group, {}) if changes is None else changes
        index = -(-counted // self.grid_ms)
        buckets[index] = buckets.get(index, 0.0) + delta
        if counted > self.detail_from_ms:
            changes[counted] = changes.get(counted, 0.0) + delta

    def feed(self, lines):
        """Every line of ``promtool tsdb dump`` (one metric: the dump lists a series' samples
        together, in time order)."""
        current, samples = None, []
        for line in lines:
            if not line.strip():
                continue
            labels, value, stamp = parse_dump_line(line)
            if labels != current:
                if current is not None:
                    self.add_series(current, samples)
                current, samples = labels, []
            samples.append((stamp, value))
        if current is not None:
            self.add_series(current, samples)

    def history(self):
        """{group: [(ms, value)]}: from the group's first increment to ``end``."""
        result = {}
        for group, buckets in self.buckets.items():
            if not buckets:
                continue
            changes = self.changes.get(group, {})
            grid = set(index * self.grid_ms for index in range(min(buckets), self.end_ms // self.grid_ms + 1))
            points, at_grid, value = [], 0.0, 0.0
            for instant in sorted(grid | set(changes) | set([self.end_ms])):
                if instant > self.detail_from_ms:
                    # every increment from here on is a change: one running sum, so that the
                    # grid instants among them never differ from it by a rounding (the counter
                    # must never go down)
                    value += changes.get(instant, 0.0)
                elif instant in grid:
                    # the bucket holds every increment since the grid instant before
                    at_grid += buckets.get(instant // self.grid_ms, 0.0)
                    value = at_grid
                points.append((instant, value))
            result[group] = points
        return result


# The metrics whose samples make a session's episodes (pricing.SESSION_SELECTORS), and the
# pseudo metric of the sessions' counters in seed()'s list.
SESSION_METRICS = ("claude_code_cost_usage_USD_total", "claude_code_session_count_total")
SESSIONS = "sessions"


class EpisodeSeed:
    """The history of the sessions' fleet counters (pricing.fleet_sessions): episodes started and
    ended. A session's samples (any cost, a session start that is not the agents view) split into
    episodes where the rule, evaluated every ``step`` seconds, sees a window with data after an
    hour (``lookback``) without: windows (kS, (k+1)S], a new episode when the window index grows
    by more than lookback/step. An episode starts when its first sample is ``settle`` old and ends
    ``lookback`` after its last. (The rule's windows have the phase Prometheus evaluates the group
    at, the history's are whole multiples of the step: the two split a session differently only
    where it was idle for between an hour and an hour and a step.)"""

    def __init__(self, end, settle=0, lookback=3600, grid=60, detail=0, step=60):
        self.started = FleetSeed((), end, settle=settle, lookback=lookback, grid=grid, detail=detail)
        self.ended = FleetSeed((), end, settle=settle, lookback=lookback, grid=grid, detail=detail)
        self.step_ms = int(round(step * 1000))
        self.lookback_ms = int(round(lookback * 1000))
        self.times = {}  # session_id -> [ms]
        self.series = 0
        self.samples = 0
        self.sessions = 0
        self.episodes = 0

    def add_series(self, labels, samples):
        name, session, start_type = label_values(labels, ("__name__", "session_id", "start_type"))
        if name == "claude_code_session_count_total" and start_type == "agents_view":
            return
        stamps = [stamp for stamp, value in samples if value is not None]
        self.series += 1
        self.samples += len(stamps)
        self.times.setdefault(session, []).extend(stamps)

    def finish(self):
        """Count every episode into the two histories (once, after the whole dump)."""
        gap = self.lookback_ms // self.step_ms
        for stamps in self.times.values():
            stamps = sorted(set(stamps))
            if not stamps:
                continue
            self.sessions += 1
            windows = [-(-stamp // self.step_ms) - 1 for stamp in stamps]
            first = 0
            for index in range(1, len(stamps) + 1):
                if index == len(stamps) or windows[index] > windows[index - 1] + gap:
                    self.episodes += 1
                    self.started.count((), stamps[first] + self.started.settle_ms, 1.0)
                    self.ended.count((), stamps[index - 1] + self.lookback_ms + self.ended.settle_ms, 1.0)
                    first = index
        self.times = {}


def openmetrics(record, by, history, extra_labels=None):
    """The history as OpenMetrics text lines (with '# EOF'), for create-blocks-from openmetrics."""
    yield "# TYPE {0} gauge\n".format(record)
    for group in sorted(history):
        pairs = sorted(list((extra_labels or {}).items()) + [(name, value) for name, value in zip(by, group) if value])
        labels = ",".join('{0}="{1}"'.format(name, value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n"))
                          for name, value in pairs)
        prefix = "{0}{{{1}}}".format(record, labels) if labels else record
        for stamp, value in history[group]:
            yield "{0} {1!r} {2}.{3:03d}\n".format(prefix, value, stamp // 1000, stamp % 1000)
    yield "# EOF\n"


def persisted_until(data_dir):
    """The end (ms, exclusive) of the newest in-order block in a Prometheus data directory, or
    None when it has none: the head holds everything from there on."""
    ends = []
    for name in os.listdir(data_dir):
        meta = os.path.join(data_dir, name, "meta.json")
        if not os.path.isfile(meta):
            continue
        with open(meta) as handle:
            block = json.load(handle)
        if "from-out-of-order" in (block.get("compaction") or {}).get("hints", []):
            continue
        ends.append(int(block["maxTime"]))
    return max(ends) if ends else None


def split_history(history, boundary_ms):
    """(the samples before boundary_ms, the rest), each {group: [(ms, value)]} without empty groups."""
    if boundary_ms is None:
        return {}, dict(history)
    old, recent = {}, {}
    for group, points in history.items():
        before = [point for point in points if point[0] < boundary_ms]
        after = [point for point in points if point[0] >= boundary_ms]
        if before:
            old[group] = before
        if after:
            recent[group] = after
    return old, recent


def varint(number):
    out = bytearray()
    while True:
        low = number & 0x7F
        number >>= 7
        if not number:
            out.append(low)
            return bytes(out)
        out.append(low | 0x80)


def _field(number, data):
    return varint(number << 3 | 2) + varint(len(data)) + data


def write_request(record, by, history, extra_labels=None):
    """The history as a Prometheus remote-write request body (prometheus.WriteRequest, protobuf,
    in a snappy block; send with Content-Encoding: snappy, Content-Type: application/x-protobuf,
    X-Prometheus-Remote-Write-Version: 0.1.0): one TimeSeries a group, samples in time order."""
    series = []
    for group in sorted(history):
        labels = dict(extra_labels or {})
        labels.update((name, value) for name, value in zip(by, group) if value)
        labels["__name__"] = record
        body = b"".join(_field(1, _field(1, name.encode("utf-8")) + _field(2, labels[name].encode("utf-8")))
                        for name in sorted(labels))
        body += b"".join(_field(2, b"\x09" + struct.pack("<d", value) + b"\x10" + varint(stamp))
                         for stamp, value in history[group])
        series.append(_field(1, body))
    return snappy_literals(b"".join(series))


def snappy_literals(raw):
    """A valid snappy block made of literals only (no compression)."""
    out = [varint(len(raw))]
    step = 1 << 24
    for start in range(0, len(raw), step):
        chunk = raw[start:start + step]
        out.append(struct.pack("<B", 63 << 2) + struct.pack("<I", len(chunk) - 1) + chunk)
    return b"".join(out)


# ------------------------------------------------------------------------ seeding a Prometheus

class SeedError(Exception):
    """Seeding cannot go on; the message says why."""


def dump_matchers(metrics):
    """The --match selector of one dump of every metric (promtool 2.53 and 3.x)."""
    for metric in metrics:
        if not re.match(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$", metric):
            raise SeedError("not a metric name: {0!r}".format(metric))
    return '{{__name__=~"{0}"}}'.format("|".join(sorted(metrics)))


def feed_many(lines, seeds):
    """Route the lines of one dump of several metrics to their seeds ({metric: seed or [seeds]},
    each with add_series); lines of other metrics (promtool 2.42 dumps everything) are skipped.
    Returns the lines read."""
    prefixes = dict(('{{__name__="{0}"'.format(metric), seed if isinstance(seed, (list, tuple)) else [seed])
                    for metric, seed in seeds.items())
    current, targets, samples, count = None, None, [], 0
    for line in lines:
        if not line.strip():
            continue
        count += 1
        labels, _sep, _rest = line.rpartition("} ")
        if labels != current:
            for target in targets or ():
                target.add_series(current + "}", samples)
            current, samples = labels, []
            head = labels.split(",", 1)[0].rstrip("}")
            targets = prefixes.get(head)
        if targets:
            _labels, value, stamp = parse_dump_line(line)
            samples.append((stamp, value))
    for target in targets or ():
        target.add_series(current + "}", samples)
    return count


def _group_text(by, group):
    return ",".join('{0}="{1}"'.format(name, value) for name, value in zip(by, group) if value)


def shadow_copy(data_dir, shadow):
    """A copy of a live data directory for a promtool without --sandbox-dir-root (before 2.49),
    whose dump would replay the write-ahead log into the directory's own chunks_head: the
    blocks hard-linked (read-only, and kept even if Prometheus compacts them away meanwhile), the
    write-ahead logs and chunks_head copied. Returns the copy's path."""
    import shutil  # pylint: disable=import-outside-toplevel
    os.mkdir(shadow)
    for name in os.listdir(data_dir):
        source = os.path.join(data_dir, name)
        if os.path.isfile(os.path.join(source, "meta.json")):
            for root, _dirs, files in os.walk(source):
                target = os.path.join(shadow, name, os.path.relpath(root, source))
                if not os.path.isdir(target):
                    os.makedirs(target)
                for item in files:
                    os.link(os.path.join(root, item), os.path.join(target, item))
        elif name in ("wal", "wbl", "chunks_head") and os.path.isdir(source):
            shutil.copytree(source, os.path.join(shadow, name))
    if not os.path.isdir(os.path.join(shadow, "wal")):
        # promtool 2.42 opens the write-ahead log even where there is none (blocks only)
        os.mkdir(os.path.join(shadow, "wal"))
    return shadow


class Promtool:
    """The promtool side: dump a data directory, write blocks."""

    def __init__(self, path):
        self.path = path

    def _run(self, argv, stdout):
        import subprocess  # pylint: disable=import-outside-toplevel
        return subprocess.Popen([self.path] + argv, stdout=stdout, stderr=subprocess.PIPE,  # pylint: disable=consider-using-with
                                universal_newlines=True)

    def dump_flags(self):
        import subprocess  # pylint: disable=import-outside-toplevel
        proc = self._run(["tsdb", "dump", "--help"], subprocess.PIPE)
        out, err = proc.communicate()
        return set(flag for flag in ("--match", "--sandbox-dir-root") if flag in out + err)

    def dump(self, data_dir, metrics, sandbox, consume):
        """Run ``promtool tsdb dump`` and hand its stdout lines to ``consume``."""
        import subprocess  # pylint: disable=import-outside-toplevel
        flags = self.dump_flags()
        argv = ["tsdb", "dump"]
        if "--sandbox-dir-root" in flags:
            argv.append("--sandbox-dir-root=" + sandbox)
        else:
            data_dir = shadow_copy(data_dir, os.path.join(sandbox, "data"))
        if "--match" in flags:
            argv.append("--match=" + dump_matchers(metrics))
        proc = self._run(argv + [data_dir], subprocess.PIPE)
        try:
            result = consume(proc.stdout)
            for _rest in proc.stdout:
                pass
        finally:
            err = proc.stderr.read()
            proc.wait()
        if proc.returncode:
            raise SeedError("promtool tsdb dump {0} failed ({1}): {2}".format(data_dir, proc.returncode, err.strip()[-2000:]))
        return result

    def create_blocks(self, openmetrics_file, out_dir):
        import subprocess  # pylint: disable=import-outside-toplevel
        proc = self._run(["tsdb", "create-blocks-from", "openmetrics", "--max-block-duration=54h", openmetrics_file, out_dir],
                         subprocess.PIPE)
        out, err = proc.communicate()
        if proc.returncode:
            raise SeedError("promtool tsdb create-blocks-from openmetrics failed ({0}): {1}".format(
                proc.returncode, (out + err).strip()[-2000:]))


def holds_data(data_dir):
    """Whether a Prometheus data directory holds a block or a write-ahead log segment with data."""
    if not os.path.isdir(data_dir):
        return False
    if persisted_until(data_dir) is not None or any(
            os.path.isfile(os.path.join(data_dir, name, "meta.json")) for name in os.listdir(data_dir)):
        return True
    wal = os.path.join(data_dir, "wal")
    return os.path.isdir(wal) and any(
        os.path.isfile(os.path.join(wal, name)) and os.path.getsize(os.path.join(wal, name)) > 0 for name in os.listdir(wal))


def seed(counters, data_dir, settle, detail, prometheus, promtool, check_mode=False, now=None, owner=None,
         lookback=3600, grid=60, step=60):
    """Seed every fleet counter whose record Prometheus does not hold yet.

    ``counters``: [(metric, record, by)], the metric SESSIONS for the sessions' counters
    (pricing.FLEET_SESSIONS_STARTED and ..._ENDED, seeded together); ``settle``, ``detail`` (the
    rule's healing window W) and ``step`` (its interval) in seconds; ``prometheus``: an object
    with ``url``, ``names()`` and ``write(body)`` (prometheus_http.PrometheusHttp); ``promtool``:
    a Promtool; ``owner``: (uid, gid) for the blocks moved into ``data_dir``. In check mode the
    dump and the history are made (read-only), nothing is written. Returns {"changed",
    "counters": [per counter], "persisted_until", "blocks": [names]}; raises SeedError.
    """
    import shutil  # pylint: disable=import-outside-toplevel
    import tempfile  # pylint: disable=import-outside-toplevel
    import time  # pylint: disable=import-outside-toplevel

    names = prometheus.names()
    counters = [(metric, record, tuple(by)) for metric, record, by in counters]
    report = dict((record, {"record": record, "metric": metric, "by": list(by), "seeded": False,
                            "reason": "Prometheus already holds the record"})
                  for metric, record, by in counters)
    result = {"changed": False, "counters": [], "persisted_until": None, "blocks": [], "samples_read": 0}

    def done():
        result["counters"] = [report[record] for _metric, record, _by in counters]
        return result

    if names is None and not holds_data(data_dir):
        for entry in report.values():
            entry["reason"] = "Prometheus holds no data yet: the rule starts from zero"
        return done()
    session_records = [record for metric, record, _by in counters if metric == SESSIONS]
    wanted = []
    for metric, record, by in counters:
        if names is not None and (record in names or (metric == SESSIONS and set(session_records) & names)):
            continue  # (the sessions' two counters are seeded together, or not at all)
        metrics = SESSION_METRICS if metric == SESSIONS else (metric,)
        if names is not None and not set(metrics) & names:
            report[record]["reason"] = "no series of {0} yet: the rule starts from zero".format(" or ".join(metrics))
            continue
        wanted.append((metric, record, by))
    if not wanted:
        return done()

    end = time.time() if now is None else now
    seeds, consumers = {}, {}
    for metric, record, by in wanted:
        if metric == SESSIONS:
            if SESSIONS not in seeds:
                seeds[SESSIONS] = EpisodeSeed(end, settle=settle, lookback=lookback, grid=grid, detail=detail, step=step)
                for name in SESSION_METRICS:
                    consumers.setdefault(name, []).append(seeds[SESSIONS])
        else:
            seeds[metric] = FleetSeed(by, end, settle=settle, lookback=lookback, grid=grid, detail=detail)
            consumers.setdefault(metric, []).append(seeds[metric])
    work = tempfile.mkdtemp(prefix=".tcc-fleet-seed-", dir=os.path.dirname(os.path.abspath(data_dir)))
    try:
        os.mkdir(os.path.join(work, "sandbox"))
        result["samples_read"] = promtool.dump(data_dir, sorted(consumers), os.path.join(work, "sandbox"),
                                               lambda lines: feed_many(lines, consumers))
        if SESSIONS in seeds:
            seeds[SESSIONS].finish()
        boundary = persisted_until(data_dir)
        result["persisted_until"] = boundary
        old_all, recent_all = [], []
        for metric, record, by in wanted:
            source = seeds[metric]
            if metric == SESSIONS:
                history = (source.started if record == FLEET_SESSIONS_STARTED else source.ended).history()
            else:
                history = source.history()
            entry = report[record]
            entry.update({"series": source.series, "samples": source.samples, "groups": len(history),
                          "points": sum(len(points) for points in history.values()),
                          "last": dict((_group_text(by, group), points[-1][1]) for group, points in history.items())})
            if metric == SESSIONS:
                entry.update({"sessions": source.sessions, "episodes": source.episodes})
            if not history:
                entry["reason"] = "nothing counted yet: the rule starts from zero"
                continue
            if names is None:
                raise SeedError(
                    "Prometheus does not answer at {0}, and {1} holds {2} samples to seed {3} from: start "
                    "Prometheus first (the part of the history its head holds goes through its remote-write "
                    "receiver)".format(prometheus.url, data_dir, source.samples, record))
            old, recent = split_history(history, boundary)
            entry.update({"seeded": True, "reason": "history written",
                          "points_in_blocks": sum(len(points) for points in old.values()),
                          "points_sent": sum(len(points) for points in recent.values())})
            old_all.append((record, by, old))
            recent_all.append((record, by, recent))
            result["changed"] = True
        if result["changed"] and not check_mode:
            if any(old for _record, _by, old in old_all):
                path = os.path.join(work, "history.om")
                with open(path, "w") as handle:
                    for record, by, old in old_all:
                        if old:
                            handle.writelines(line for line in openmetrics(record, by, old) if line != "# EOF\n")
                    handle.write("# EOF\n")
                blocks = os.path.join(work, "blocks")
                promtool.create_blocks(path, blocks)
                for name in sorted(os.listdir(blocks)):
                    source = os.path.join(blocks, name)
                    if owner is not None:
                        for root, dirs, files in os.walk(source):
                            for item in [root] + [os.path.join(root, x) for x in dirs + files]:
                                os.chown(item, owner[0], owner[1])
                    os.rename(source, os.path.join(data_dir, name))
                    result["blocks"].append(name)
            for record, by, recent in recent_all:
                if recent:
                    prometheus.write(write_request(record, by, recent))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return done()
