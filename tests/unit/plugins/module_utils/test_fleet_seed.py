# -*- coding: utf-8 -*-
# Copyright: telemetry.claude_code developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet counter's history (plugins/module_utils/fleet_seed.py) against the rule it stands for.

The reference is the rule itself, evaluated literally in Python: every step, the base plus each
series' accrual over the step's window ending L before (pricing.accrued: the highest value in
the window minus the last value in the LOOKBACK before it)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import bisect
import json
import random
import struct

import pytest

from ansible_collections.telemetry.claude_code.plugins.module_utils import fleet_seed

MIN = 60000


def dump_line(labels, value, stamp):
    inner = ", ".join('{0}="{1}"'.format(name, labels[name]) for name in sorted(labels))
    return "{{{0}}} {1} {2}\n".format(inner, value, stamp)


def sessions(seed, count, start, end):
    """Counter series of short sessions: one sample a minute (plus a last one), growing."""
    rng = random.Random(seed)
    series = []
    for number in range(count):
        begin = rng.randrange(start, end - 5 * MIN)
        stamps = list(range(begin, min(end, begin + rng.randrange(1, 40) * MIN), MIN))
        stamps.append(stamps[-1] + rng.randrange(1, MIN))
        value, samples = 0.0, []
        for stamp in stamps:
            value += rng.choice([0.0, rng.random()])
            samples.append((stamp, round(value, 6)))
        labels = {"__name__": "claude_code_cost_usage_USD_total", "model": rng.choice(["opus", "sonnet"]),
                  "session_id": "s{0}".format(number)}
        series.append((labels, samples))
    return series


def rule(series, by_model, times, step, settle, lookback=3600000):
    """C at each time, evaluated the way the rule does (steady state, starting from 0)."""
    values, total = [], {}
    for evaluation in times:
        end = evaluation - settle
        start = end - step
        for labels, samples in series:
            stamps = [stamp for stamp, _value in samples]
            inside = [value for stamp, value in samples if start < stamp <= end]
            if not inside:
                continue
            before = [value for stamp, value in samples if start - lookback < stamp <= start]
            key = labels["model"] if by_model else ""
            total[key] = total.get(key, 0.0) + max(inside) - (before[-1] if before else 0.0)
        values.append(dict(total))
    return values


def read(points, instant):
    """What an instant query finds: the last sample at or before the instant (within 5 m)."""
    stamps = [stamp for stamp, _value in points]
    index = bisect.bisect_right(stamps, instant) - 1
    if index < 0 or instant - stamps[index] > 5 * MIN:
        return None
    return points[index][1]


def seeded(series, end, **kwargs):
    seed = fleet_seed.FleetSeed(["model"], end / 1000.0, **kwargs)
    seed.feed(dump_line(labels, value, stamp) for labels, samples in sorted(series, key=lambda s: s[0]["session_id"])
              for stamp, value in samples)
    return seed


@pytest.mark.parametrize("settle", [0, 120])
def test_the_history_is_what_the_rule_would_have_written(settle):
    start, end = 1699999980000, 1699999980000 + 6 * 3600000
    series = sessions(1, 60, start, end)
    seed = seeded(series, end + 7, settle=settle, detail=600)
    history = seed.history()
    assert seed.series == 60
    # a rule with its own phase (any), every minute, from before the first sample
    phase = 23456
    times = list(range(start - 2 * MIN + phase, end, MIN))
    expected = rule(series, True, times, MIN, settle * 1000)
    for evaluation, totals in zip(times, expected):
        for model, total in totals.items():
            at_grid = read(history[(model,)], evaluation // MIN * MIN)
            if evaluation > end + 7 - 600000:
                # the last `detail` seconds: exact at any instant
                assert read(history[(model,)], evaluation) == pytest.approx(total, abs=1e-9)
            # the grid: the value at the whole minute before the evaluation
            grid_total = rule(series, True, [evaluation // MIN * MIN], evaluation // MIN * MIN - start + 4 * MIN,
                              settle * 1000)[0].get(model, 0.0)
            assert (at_grid or 0.0) == pytest.approx(grid_total, abs=1e-9)


@pytest.mark.parametrize("seed", range(6))
def test_the_history_never_goes_down(seed):
    """Not even by a rounding: resets() would count it (a live run once found 6.569084 followed
    by 6.569083999999998 where the grid met the changes of the last W)."""
    start, end = 1699999980000, 1699999980000 + 3 * 3600000
    history = seeded(sessions(seed, 120, start, end), end + 12345, settle=6, detail=3600).history()
    for points in history.values():
        assert all(later[1] >= earlier[1] and later[0] > earlier[0] for earlier, later in zip(points, points[1:]))


def test_a_range_is_two_reads():
    start, end = 1699999980000, 1699999980000 + 6 * 3600000
    series = sessions(2, 80, start, end)
    history = seeded(series, end).history()
    frm, to = start + 3600000, end
    for model in ("opus", "sonnet"):
        accrued = 0.0
        for labels, samples in series:
            if labels["model"] != model:
                continue
            inside = [value for stamp, value in samples if frm < stamp <= to]
            before = [value for stamp, value in samples if frm - 3600000 < stamp <= frm]
            if inside:
                accrued += max(inside) - (before[-1] if before else 0.0)
        assert read(history[(model,)], to) - read(history[(model,)], frm) == pytest.approx(accrued, abs=1e-9)


def test_a_series_idle_longer_than_the_lookback_counts_again_from_zero():
    labels = {"model": "opus", "session_id": "a"}
    samples = [(0, 1.0), (MIN, 2.0), (MIN + 3600001, 5.0)]
    history = seeded([(labels, samples)], 2 * 3600000).history()
    assert read(history[("opus",)], 2 * 3600000) == 7.0


def test_stale_markers_and_samples_after_the_end_are_left_out():
    lines = [
        '{__name__="m", model="a\\"b"} 1 60000\n',
        '{__name__="m", model="a\\"b"} NaN 90000\n',
        '{__name__="m", model="a\\"b"} 3 120000\n',
        '{__name__="m", model="a\\"b"} 9 600000\n',
    ]
    seed = fleet_seed.FleetSeed(["model"], 300, settle=0)
    seed.feed(lines)
    assert seed.history() == {('a"b',): [(60000, 1.0), (120000, 3.0), (180000, 3.0), (240000, 3.0), (300000, 3.0)]}
    assert seed.samples == 4 - 1


def test_openmetrics_output():
    lines = list(fleet_seed.openmetrics("x:c:fleet_total", ["model", "type"],
                                        {("a\"b", ""): [(60000, 1.5)], ("c", "input"): [(61001, 2.0)]}))
    assert lines == [
        "# TYPE x:c:fleet_total gauge\n",
        'x:c:fleet_total{model="a\\"b"} 1.5 60.000\n',
        'x:c:fleet_total{model="c",type="input"} 2.0 61.001\n',
        "# EOF\n",
    ]


def test_a_line_that_is_not_a_dump_line_is_an_error():
    with pytest.raises(ValueError):
        fleet_seed.parse_dump_line("claude_code_cost 1 2\n")


def test_persisted_until_is_the_end_of_the_newest_in_order_block(tmp_path):
    assert fleet_seed.persisted_until(str(tmp_path)) is None
    for name, max_time, hints in (("01A", 7200000, []), ("01B", 14400000, []),
                                  ("01C", 99999999, ["from-out-of-order"])):
        (tmp_path / name).mkdir()
        (tmp_path / name / "meta.json").write_text(json.dumps(
            {"ulid": name, "minTime": max_time - 7200000, "maxTime": max_time, "compaction": {"level": 1, "hints": hints}}))
    (tmp_path / "wal").mkdir()
    (tmp_path / "lock").write_text("")
    assert fleet_seed.persisted_until(str(tmp_path)) == 14400000


def test_split_history_keeps_the_head_out_of_the_blocks():
    history = {("a",): [(1, 1.0), (5, 2.0), (9, 3.0)], ("b",): [(2, 1.0)]}
    assert fleet_seed.split_history(history, 5) == ({("a",): [(1, 1.0)], ("b",): [(2, 1.0)]},
                                                    {("a",): [(5, 2.0), (9, 3.0)]})
    assert fleet_seed.split_history(history, None) == ({}, history)


def _unvarint(data, index):
    shift = number = 0
    while True:
        byte = data[index]
        index += 1
        number |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return number, index


def _fields(data):
    """(field number, wire type, value) of a protobuf message (wire types 0, 1 and 2 only)."""
    index, out = 0, []
    while index < len(data):
        key, index = _unvarint(data, index)
        if key & 7 == 0:
            value, index = _unvarint(data, index)
        elif key & 7 == 1:
            value, index = struct.unpack("<d", data[index:index + 8])[0], index + 8
        else:
            length, index = _unvarint(data, index)
            value, index = data[index:index + length], index + length
        out.append((key >> 3, value))
    return out


def test_the_remote_write_request_holds_the_history():
    history = {("opus",): [(1795963628363, 8.5), (1795963688363, 9.25)], ("",): [(1795963628000, 1.0)]}
    body = fleet_seed.write_request("x:cost:fleet_total", ["model"], history)
    # a snappy block of literals: the length, then a 4-byte-length literal
    length, index = _unvarint(body, 0)
    assert body[index] == 63 << 2
    assert struct.unpack("<I", body[index + 1:index + 5])[0] + 1 == length
    raw = body[index + 5:]
    assert len(raw) == length
    series = []
    for number, timeseries in _fields(raw):
        assert number == 1
        labels, samples = {}, []
        for field, value in _fields(timeseries):
            if field == 1:
                pair = dict(_fields(value))
                labels[pair[1].decode()] = pair[2].decode()
            else:
                sample = dict(_fields(value))
                samples.append((sample[2], sample[1]))
        series.append((labels, samples))
    assert series == [
        ({"__name__": "x:cost:fleet_total"}, [(1795963628000, 1.0)]),
        ({"__name__": "x:cost:fleet_total", "model": "opus"}, [(1795963628363, 8.5), (1795963688363, 9.25)]),
    ]


# ------------------------------------------------------------------------ seed(): the module's logic

class FakePrometheus:
    url = "http://prometheus.test:9090"

    def __init__(self, names):
        self._names = names
        self.sent = []

    def names(self):
        return None if self._names is None else set(self._names)

    def write(self, body):
        self.sent.append(body)


class FakePromtool:
    """Dumps the given lines; writes one block per create-blocks call (its points in a file)."""

    def __init__(self, lines):
        self.lines = lines
        self.dumped = []
        self.created = []

    def dump(self, data_dir, metrics, sandbox, consume):
        self.dumped.append((data_dir, sorted(metrics)))
        return consume(iter(self.lines))

    def create_blocks(self, openmetrics_file, out_dir):
        with open(openmetrics_file) as handle:
            text = handle.read()
        self.created.append(text)
        block = "01TESTBLOCK{0:015d}".format(len(self.created))
        import os
        os.makedirs(os.path.join(out_dir, block))
        with open(os.path.join(out_dir, block, "meta.json"), "w") as handle:
            handle.write(json.dumps({"minTime": 0, "maxTime": 1, "compaction": {"hints": ["from-out-of-order"]}}))


COUNTERS = [("claude_code_cost_usage_USD_total", "claude_code:cost_usage_USD:fleet_total", ("model",)),
            ("claude_code_token_usage_tokens_total", "claude_code:token_usage_tokens:fleet_total", ("model", "type"))]
END = 1767225600000  # 2026-01-01T00:00:00Z


def fleet_lines():
    """Cost of two sessions (4 h ago and 10 min ago), tokens of one, and a metric not counted."""
    out = []
    for stamp, value in ((END - 4 * 3600000, 1.0), (END - 4 * 3600000 + MIN, 2.5)):
        out.append(dump_line({"__name__": "claude_code_cost_usage_USD_total", "model": "opus", "session_id": "a"}, value, stamp))
    for stamp, value in ((END - 10 * MIN, 0.5), (END - 9 * MIN, 0.75)):
        out.append(dump_line({"__name__": "claude_code_cost_usage_USD_total", "model": "sonnet", "session_id": "b"}, value, stamp))
    out.append(dump_line({"__name__": "claude_code_session_count_total", "session_id": "a"}, 1, END - 4 * 3600000))
    out.append(dump_line({"__name__": "claude_code_token_usage_tokens_total", "model": "opus", "session_id": "a",
                          "type": "input"}, 100, END - 4 * 3600000))
    return sorted(out)


def persisted(tmp_path, max_time):
    block = tmp_path / "data" / "01PERSISTED0000000000000000"
    block.mkdir(parents=True)
    (block / "meta.json").write_text(json.dumps({"minTime": 0, "maxTime": max_time}))
    return str(tmp_path / "data")


def test_seed_writes_the_old_part_as_blocks_and_sends_the_rest(tmp_path):
    data = persisted(tmp_path, END - 2 * 3600000)
    prometheus = FakePrometheus(["claude_code_cost_usage_USD_total", "claude_code_token_usage_tokens_total"])
    promtool = FakePromtool(fleet_lines())
    result = fleet_seed.seed(COUNTERS, data, 120, 7200, prometheus, promtool, now=END / 1000.0)
    assert result["changed"] is True
    assert promtool.dumped == [(data, ["claude_code_cost_usage_USD_total", "claude_code_token_usage_tokens_total"])]
    cost, tokens = result["counters"]
    assert cost["seeded"] and tokens["seeded"]
    assert cost["last"] == {'model="opus"': 2.5, 'model="sonnet"': 0.75}
    assert tokens["last"] == {'model="opus",type="input"': 100.0}
    assert cost["samples"] == 4 and tokens["samples"] == 1
    # one create-blocks call for both records' old parts, then the blocks moved into the data directory
    assert len(promtool.created) == 1 and promtool.created[0].endswith("# EOF\n")
    assert promtool.created[0].count("# EOF") == 1
    assert "# TYPE claude_code:cost_usage_USD:fleet_total gauge" in promtool.created[0]
    assert "# TYPE claude_code:token_usage_tokens:fleet_total gauge" in promtool.created[0]
    for line in promtool.created[0].splitlines():
        if not line.startswith("#"):
            assert float(line.rsplit(" ", 1)[1]) * 1000 < END - 2 * 3600000
    assert result["blocks"] == ["01TESTBLOCK000000000000001"]
    assert (tmp_path / "data" / "01TESTBLOCK000000000000001" / "meta.json").is_file()
    # the head's part by remote write, one request per record
    assert len(prometheus.sent) == 2
    assert cost["points_in_blocks"] + cost["points_sent"] == cost["points"]
    assert not [p for p in (tmp_path).iterdir() if p.name.startswith(".tcc-fleet-seed-")]


def test_seed_in_check_mode_reads_but_writes_nothing(tmp_path):
    data = persisted(tmp_path, END - 2 * 3600000)
    prometheus = FakePrometheus(["claude_code_cost_usage_USD_total", "claude_code_token_usage_tokens_total"])
    promtool = FakePromtool(fleet_lines())
    result = fleet_seed.seed(COUNTERS, data, 120, 7200, prometheus, promtool, check_mode=True, now=END / 1000.0)
    assert result["changed"] is True and result["blocks"] == []
    assert promtool.created == [] and prometheus.sent == []
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["01PERSISTED0000000000000000"]


def test_seed_never_seeds_a_record_prometheus_holds(tmp_path):
    data = persisted(tmp_path, END - 2 * 3600000)
    prometheus = FakePrometheus(["claude_code_cost_usage_USD_total", "claude_code:cost_usage_USD:fleet_total",
                                 "claude_code_token_usage_tokens_total", "claude_code:token_usage_tokens:fleet_total"])
    promtool = FakePromtool(fleet_lines())
    result = fleet_seed.seed(COUNTERS, data, 120, 7200, prometheus, promtool, now=END / 1000.0)
    assert result["changed"] is False and promtool.dumped == []
    assert [entry["reason"] for entry in result["counters"]] == ["Prometheus already holds the record"] * 2


def test_seed_leaves_a_counter_without_series_to_its_rule(tmp_path):
    data = persisted(tmp_path, END - 2 * 3600000)
    prometheus = FakePrometheus(["claude_code_cost_usage_USD_total"])
    promtool = FakePromtool(fleet_lines())
    result = fleet_seed.seed(COUNTERS, data, 120, 7200, prometheus, promtool, now=END / 1000.0)
    assert promtool.dumped == [(data, ["claude_code_cost_usage_USD_total"])]
    assert [entry["seeded"] for entry in result["counters"]] == [True, False]
    assert "no series of claude_code_token_usage_tokens_total" in result["counters"][1]["reason"]


def test_seed_without_prometheus(tmp_path):
    data = str(tmp_path / "data")
    (tmp_path / "data").mkdir()
    # a first install: nothing stored, nothing to seed, no change
    result = fleet_seed.seed(COUNTERS, data, 120, 7200, FakePrometheus(None), FakePromtool([]), now=END / 1000.0)
    assert result["changed"] is False
    # nothing stored at all (an empty or missing directory: check mode before the install): no dump
    promtool = FakePromtool(fleet_lines())
    result = fleet_seed.seed(COUNTERS, str(tmp_path / "absent"), 120, 7200, FakePrometheus(None), promtool)
    assert result["changed"] is False and promtool.dumped == []
    # data but no Prometheus to take the head's part: fail, and write nothing
    (tmp_path / "data" / "wal").mkdir()
    (tmp_path / "data" / "wal" / "00000000").write_bytes(b"x")
    with pytest.raises(fleet_seed.SeedError, match="does not answer.*start Prometheus first"):
        fleet_seed.seed(COUNTERS, data, 120, 7200, FakePrometheus(None), promtool, now=END / 1000.0)
    assert promtool.created == [] and [p.name for p in (tmp_path / "data").iterdir()] == ["wal"]


def test_feed_many_routes_by_metric_and_skips_the_rest():
    seeds = {"claude_code_cost_usage_USD_total": fleet_seed.FleetSeed(("model",), END / 1000.0)}
    lines = fleet_lines()
    assert fleet_seed.feed_many(iter(lines), seeds) == len(lines)
    assert seeds["claude_code_cost_usage_USD_total"].series == 2
    assert seeds["claude_code_cost_usage_USD_total"].samples == 4
    # a metric whose name is a prefix of another is not mixed up with it
    seeds = {"claude_code_cost_usage_USD": fleet_seed.FleetSeed(("model",), END / 1000.0)}
    fleet_seed.feed_many(iter(lines), seeds)
    assert seeds["claude_code_cost_usage_USD"].series == 0


def test_dump_matchers_escape_the_names():
    assert fleet_seed.dump_matchers(["b_total", "a:x"]) == '{__name__=~"a:x|b_total"}'
    with pytest.raises(fleet_seed.SeedError):
        fleet_seed.dump_matchers(['a"}'])


def test_shadow_copy_links_the_blocks_and_copies_the_head(tmp_path):
    data = tmp_path / "data"
    (data / "01BLOCK" / "chunks").mkdir(parents=True)
    (data / "01BLOCK" / "meta.json").write_text("{}")
    (data / "01BLOCK" / "chunks" / "000001").write_bytes(b"chunk")
    (data / "wal").mkdir()
    (data / "wal" / "00000003").write_bytes(b"wal")
    (data / "chunks_head").mkdir()
    (data / "lock").write_text("")
    (tmp_path / "sandbox").mkdir()
    # blocks only: an empty write-ahead log for promtool 2.42
    (tmp_path / "blocks-only").mkdir()
    empty = fleet_seed.shadow_copy(str(tmp_path / "blocks-only"), str(tmp_path / "sandbox" / "empty"))
    assert sorted(p.name for p in __import__("pathlib").Path(empty).iterdir()) == ["wal"]
    shadow = fleet_seed.shadow_copy(str(data), str(tmp_path / "sandbox" / "data"))
    names = sorted(str(p.relative_to(shadow)) for p in __import__("pathlib").Path(shadow).rglob("*"))
    assert names == ["01BLOCK", "01BLOCK/chunks", "01BLOCK/chunks/000001", "01BLOCK/meta.json", "chunks_head", "wal",
                     "wal/00000003"]
    # the block's files are the same files; the head's are copies
    assert (tmp_path / "sandbox" / "data" / "01BLOCK" / "chunks" / "000001").stat().st_ino == \
        (data / "01BLOCK" / "chunks" / "000001").stat().st_ino
    assert (tmp_path / "sandbox" / "data" / "wal" / "00000003").stat().st_ino != (data / "wal" / "00000003").stat().st_ino


# ------------------------------------------------------------------------ the sessions' counters

def sessions_rule(sessions_stamps, times, step, settle, lookback=3600000):
    """Started and ended at each time, as the rule counts them (windows (t-w, t], Prometheus 3)."""
    def has(stamps, start, end):
        return any(start < stamp <= end for stamp in stamps)

    started, ended, out = 0, 0, []
    for evaluation in times:
        end = evaluation - settle
        for stamps in sessions_stamps:
            if has(stamps, end - step, end) and not has(stamps, end - step - lookback, end - step):
                started += 1
            if has(stamps, end - step - lookback, end - lookback) and not has(stamps, end - lookback, end):
                ended += 1
        out.append((started, ended))
    return out


@pytest.mark.parametrize("seed_number", range(4))
def test_the_sessions_history_is_what_the_rule_counts(seed_number):
    rng = random.Random(seed_number)
    start, end = 1767225600000, 1767225600000 + 12 * 3600000
    sessions_stamps = []
    for _number in range(40):
        stamps, at = [], rng.randrange(start, start + 8 * 3600000)
        for _episode in range(rng.choice([1, 1, 2, 3])):
            for _sample in range(rng.randrange(1, 12)):
                stamps.append(at)
                at += rng.randrange(1000, 10 * MIN)
            at += rng.choice([59 * MIN, 61 * MIN, 90 * MIN, 3 * 3600000, rng.randrange(1, 70) * MIN])
        sessions_stamps.append([stamp for stamp in stamps if stamp < end])
    episodes = fleet_seed.EpisodeSeed(end / 1000.0, settle=120, detail=7200)
    for number, stamps in enumerate(sessions_stamps):
        # each session's samples split over a cost series and a session-start series
        cost = [(stamp, 1.0) for stamp in stamps[::2]]
        starts = [(stamp, 1.0) for stamp in stamps[1::2]]
        episodes.add_series('{{__name__="claude_code_cost_usage_USD_total", model="m", session_id="s{0}"}}'.format(number), cost)
        episodes.add_series('{{__name__="claude_code_session_count_total", session_id="s{0}", start_type="fresh"}}'.format(number),
                            starts)
    # the agents view is not a session
    episodes.add_series('{__name__="claude_code_session_count_total", session_id="agents", start_type="agents_view"}',
                        [(start + MIN, 1.0)])
    episodes.finish()
    started, ended = episodes.started.history()[()], episodes.ended.history()[()]
    times = list(range(start, end + 1, MIN))
    expected = sessions_rule(sessions_stamps, times, MIN, 2 * MIN)

    def at(points, instant):
        index = bisect.bisect_right([stamp for stamp, _value in points], instant) - 1
        return points[index][1] if index >= 0 else 0.0

    for instant, (want_started, want_ended) in zip(times, expected):
        assert (at(started, instant), at(ended, instant)) == (want_started, want_ended), instant
    assert episodes.sessions == 40 and episodes.episodes >= expected[-1][0] >= expected[-1][1]
    assert expected[-1][0] > 40, "some sessions must have had several episodes"


def test_seed_writes_the_sessions_counters_together(tmp_path):
    data = persisted(tmp_path, END - 2 * 3600000)
    lines = fleet_lines() + [
        dump_line({"__name__": "claude_code_session_count_total", "session_id": "c", "start_type": "fresh"}, 1, END - 30 * MIN),
        dump_line({"__name__": "claude_code_session_count_total", "session_id": "v", "start_type": "agents_view"}, 1,
                  END - 30 * MIN)]
    sessions = [("sessions", "claude_code:sessions:fleet_started", ()), ("sessions", "claude_code:sessions:fleet_ended", ())]
    prometheus = FakePrometheus(["claude_code_cost_usage_USD_total", "claude_code_session_count_total"])
    promtool = FakePromtool(sorted(lines))
    result = fleet_seed.seed(COUNTERS[:1] + sessions, data, 120, 7200, prometheus, promtool, now=END / 1000.0)
    cost, started, ended = result["counters"]
    assert promtool.dumped == [(data, ["claude_code_cost_usage_USD_total", "claude_code_session_count_total"])]
    # a (4 h ago), b (10 min ago), c (30 min ago; the agents view is not a session), once each;
    # a's episode ended an hour after its last sample
    assert started["last"] == {"": 3.0} and ended["last"] == {"": 1.0}
    assert started["sessions"] == 3 and started["episodes"] == 3
    assert cost["seeded"] and started["seeded"] and ended["seeded"]
    # Prometheus holds one of the two: neither is seeded again
    prometheus = FakePrometheus(["claude_code_cost_usage_USD_total", "claude_code_session_count_total",
                                 "claude_code:sessions:fleet_ended"])
    again = fleet_seed.seed(sessions, data, 120, 7200, prometheus, FakePromtool(sorted(lines)), now=END / 1000.0)
    assert again["changed"] is False and [entry["seeded"] for entry in again["counters"]] == [False, False]
