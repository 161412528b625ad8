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
