# -*- coding: utf-8 -*-
# Copyright: telemetry.claude_code developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Per-model token prices rendered into dashboards.

Claude Code reports its own cost (``claude_code_cost_usage_USD_total``), and most panels use
that. A few panels ask what one kind of token cost (cache writes, plain input); those multiply
token counts by per-model prices from ``files/model_prices.yml``. This module turns that file
into PromQL, and re-renders every target of a dashboard that carries a ``tccPrice`` marker
(``{"tokenType": "cacheCreation", "window": "24h"}``), every target that carries a
``tccUnpriced`` marker (the tokens of models with no price, shown as such rather than priced
at a guess; with ``"shareOf"``, as a percentage of that PromQL total), and the description of every panel marked ``tccPriced`` (``{"lead": "..."}``)
with the price table and its date, so that changing the prices file changes the dashboards.

The prices are Claude Code's own (its built-in model catalog, tests/catalog/model_prices.py).
Token counts by type cannot tell which requests were above a model's long-prompt tier, which
cache writes were kept for 1 hour, or which requests ran in fast mode or in the US-only region;
these are priced at the base tier, 5-minute writes and standard speed. Claude Code's own cost
metric (``claude_code_cost_usage_USD_total``), which most panels use, has them all.

Plain Python with no Ansible imports, so the dashboard generator and tests can use it too.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import copy
import re

TOKEN_METRIC = "claude_code_token_usage_tokens_total"
# the `type` label of the token metric -> the price key in model_prices.yml
PRICE_KEYS = {
    "input": "input",
    "output": "output",
    "cacheRead": "cache_read",
    "cacheCreation": "cache_write",
}
PRICE_PANEL_MARKER = "tccPriced"
# A target's expression that reads the fleet counters instead (use_fleet_counters).
FLEET_TARGET_MARKER = "tccFleet"


def _num(value):
    """Format a price per token without float noise (3.75 / 1e6 -> 3.75e-06)."""
    return "{0:.6g}".format(float(value)).replace("e-0", "e-")


# The longest gap between two samples of one counter series: the collector's
# delta_to_cumulative forgets a stream idle for otel_collector_delta_max_stale (at most 1h)
# and then starts a new series, and Claude Code exports every stream it has at each export
# interval (60 s by default) when it sends cumulative sums.
LOOKBACK = "1h"

_UNITS = (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1))


def _seconds(duration):
    """'1h30m' -> 5400, '-1d' -> -86400; None when it is not a plain Prometheus duration (a Grafana variable)."""
    if not re.match(r"^-?([0-9]+[wdhms])+$", duration or ""):
        return None
    units = dict(_UNITS)
    sign = -1 if duration.startswith("-") else 1
    return sign * sum(int(n) * units[u] for n, u in re.findall(r"([0-9]+)([wdhms])", duration))


def _duration(seconds):
    """5400 -> '1h30m', -86400 -> '-1d'."""
    if seconds < 0:
        return "-" + _duration(-seconds)
    out = ""
    for unit, size in _UNITS:
        if seconds >= size:
            out += "{0}{1}".format(seconds // size, unit)
            seconds %= size
    return out or "0s"


def window_start(window, offset=""):
    """The modifier that evaluates a selector at the start of the window (shifted by offset)."""
    if not offset:
        return " offset {0}".format(window)
    window_s, offset_s = _seconds(window), _seconds(offset)
    if window_s is not None and offset_s is not None:
        # A negative offset (a window that ends after the evaluation time, as the calendar
        # windows of inventory_rules.py do) can put the start at the evaluation time itself.
        start = window_s + offset_s
        return " offset {0}".format(_duration(start)) if start else ""
    # A window that is a Grafana variable ($__range): the start of the dashboard's time range.
    return " @ ${{__from:date:seconds}} offset {0}".format(offset)


def accrued(selector, window, offset=""):
    """PromQL for what each counter series accrued inside the window.

    Per series: its highest value in the window (counters only grow: every restart of a stream
    is a new series, label stream_start) minus its last value before the window, or minus 0 for
    a series that started inside it. Exact for a series born in the window, for one that ran
    across the window's start, and for the first sample of each (the collector pushes samples,
    so no zero sample marks a series' start); increase() extrapolates and over-counts
    short-lived series (docs/telemetry.md has the measurements).

    ``offset`` may be negative ("-1d"): the window then ends after the evaluation time, which a
    subquery step uses to read the calendar day that starts at it (inventory_rules.py).
    """
    shift = " offset {0}".format(offset) if offset else ""
    top = "max_over_time({0}[{1}]{2})".format(selector, window, shift)
    before = "last_over_time({0}[{1}]{2})".format(selector, LOOKBACK, window_start(window, offset))
    return "({0} - ({1} or {0} * 0))".format(top, before)


# The label that keeps the negated "before" values of accrued_terms() apart from the series
# they belong to, so that `or` keeps both. Aggregations drop it.
TERM_LABEL = "tcc_accrual"


def reads_window_once(window):
    """Whether accrued_terms() reads less than accrued() for this window: a dashboard's range
    ($__range) or a fixed window longer than LOOKBACK. For $__interval (one step of a time
    series panel) and short windows the window is the cheap part and accrued() reads less."""
    if window == "$__range":
        return True
    seconds = _seconds(window)
    return seconds is not None and seconds > _seconds(LOOKBACK)


def accrued_terms(selector, window, offset=""):
    """PromQL for a vector whose sum, over any grouping, is the sum of accrued().

    accrued() is exact per series, but reads the window twice: PromQL evaluates both operands
    of `or`, and the `max_over_time(...) * 0` that stands for a series with no value before the
    window reads it again. Summed, the same total needs one read:

    - each series' highest value in the window, or, for a series with none, its last value
      before the window (its accrual is 0: that value is added here and taken away below);
    - minus, under the label TERM_LABEL so that `or` keeps them apart, the last value before
      the window of every series that has one.

    The sum is sum(accrued()) exactly, up to the order of float additions. Only for sums
    (`sum`, `sum by`, a constant factor first): a single element is not a series' accrual.
    A group whose series all stopped in the hour before the window sums to 0 (accrued()
    leaves such a group out). Measured on a month of 10,000 sessions a day, Prometheus 2.53 on
    one core: the 30-day tokens by model and type in 55-68 s instead of 91-118 s, the same
    values to the last digit (roles/prometheus/README.md, "Query cost").
    """
    shift = " offset {0}".format(offset) if offset else ""
    top = "max_over_time({0}[{1}]{2})".format(selector, window, shift)
    before = "last_over_time({0}[{1}]{2})".format(selector, LOOKBACK, window_start(window, offset))
    return '(({0} or {1}) or label_replace(-{1}, "{2}", "before", "", ""))'.format(top, before, TERM_LABEL)


def summable_accrued(selector, window, offset=""):
    """accrued_terms() where it reads less than accrued(), else accrued(): for sums only."""
    if reads_window_once(window):
        return accrued_terms(selector, window, offset)
    return accrued(selector, window, offset)


# The fleet counters (claude_code_fleet.yml, opt-in: prometheus_fleet_counters; rendered by
# inventory_rules, seeded by fleet_seed): (metric, record, labels it is summed by). Each is what
# every series of the metric accrued, summed: a range question reads it at two instants.
FLEET_COUNTERS = (
    ("claude_code_cost_usage_USD_total", "claude_code:cost_usage_USD:fleet_total", ("model",)),
    ("claude_code_token_usage_tokens_total", "claude_code:token_usage_tokens:fleet_total", ("model", "type")),
    ("claude_code_lines_of_code_count_total", "claude_code:lines_of_code_count:fleet_total", ("type",)),
    ("claude_code_code_edit_tool_decision_total", "claude_code:code_edit_tool_decision:fleet_total", ("decision",)),
    ("claude_code_active_time_seconds_total", "claude_code:active_time_seconds:fleet_total", ("type",)),
)


# The sessions' fleet counters (claude_code_fleet.yml): episodes of a session started and ended.
# An episode is a run of a session's samples with no gap of an hour or more (the dashboards'
# LOOKBACK). The sessions with data in a range (a, b] of an hour or more are then those started
# by b and not ended by a: F(b) - E(a), with E read an hour later, when it knows (sessions()
# of tests/dashboards/common.py). A session idle for more than an hour in the range counts twice.
FLEET_SESSIONS_STARTED = "claude_code:sessions:fleet_started"
FLEET_SESSIONS_ENDED = "claude_code:sessions:fleet_ended"
# What counts as a session's sample: any cost, or a session start that is not the agents view
# (the dashboards' sessions(): `claude agents` reports its agents' own session ids).
SESSION_SELECTORS = ("claude_code_cost_usage_USD_total", 'claude_code_session_count_total{start_type!="agents_view"}')
# In the seeding module's list of counters (fleet_seed.seed): the pseudo metric "sessions".
FLEET_SESSION_COUNTERS = (("sessions", FLEET_SESSIONS_STARTED, ()), ("sessions", FLEET_SESSIONS_ENDED, ()))


def _offset(seconds):
    return " offset {0}".format(_duration(seconds)) if seconds else ""


def sessions_with_data(window, offset_seconds=0):
    """One series per session_id with a sample in (t - offset - window, t - offset]."""
    return "count by (session_id) ({0})".format(" or ".join(
        "count_over_time({0}[{1}]{2})".format(selector, window, _offset(offset_seconds)) for selector in SESSION_SELECTORS))


def episodes_started(window, offset=""):
    """1 per session whose episode starts in the window: data in it, none in the hour before it."""
    window_s, offset_s = _seconds(window), _seconds(offset or "0s")
    return "(({0} unless {1}) * 0 + 1)".format(
        sessions_with_data(window, offset_s), sessions_with_data(LOOKBACK, window_s + offset_s))


def episodes_ended(window, offset=""):
    """1 per session whose episode ended an hour before the window: its last sample in the
    window shifted back an hour, none since."""
    window_s, offset_s = _seconds(window), _seconds(offset or "0s")
    lookback = _seconds(LOOKBACK)
    return "(({0} unless {1}) * 0 + 1)".format(
        sessions_with_data(window, lookback + offset_s), sessions_with_data(LOOKBACK, offset_s))


def fleet_record(record, increment, by, step, heal, settle=""):
    """A record that reads its own last value and only ever grows, by ``increment(window,
    offset)`` (PromQL: per series, what to add for the window ending ``offset`` before):

        C(t) = max(C(t-step) + increment over (t-step-settle, t-settle],
                   C(t-heal) + increment over (t-heal-settle, t-settle])

    summed ``by`` the given labels. The ``step`` term keeps it going (its base is the record's
    last value within LOOKBACK); the ``heal`` term counts again what arrived late or what
    evaluations Prometheus missed, for disturbances shorter than ``heal``. Each term is one sum
    over the union of the increments and its base (their label sets never meet), so each is
    evaluated once. With no base (a new group), the ``heal`` term is the increment of the last
    ``heal``.
    """
    offset = settle if _seconds(settle) else ""

    def term(window, base):
        return 'label_replace(sum by ({0}) ({1} or {2}), "{3}", "{4}", "", "")'.format(
            by, increment(window, offset), base, TERM_LABEL, window)

    return "max by ({0}) ({1} or {2})".format(
        by,
        term(step, "last_over_time({0}[{1}] offset {2})".format(record, LOOKBACK, step)),
        term(heal, "({0} offset {1})".format(record, heal)))


def fleet_counter(record, selector, by, step, heal, settle=""):
    """PromQL for a fleet counter: what every series of ``selector`` accrued, summed ``by`` the
    given labels, as a record that only grows (fleet_record, with accrued() per series).

    The rules of claude_code_fleet.yml (inventory_rules, opt-in), the promtool tests and the
    experiments (roles/prometheus/README.md, "Query cost"; tests/bench/fleet-counter.sh; the
    faults scenario) render it from here. With ``settle`` longer than the delivery delay no
    point is still on its way when a window is read, and the counter equals the sum of the
    accruals; it never holds more.
    """
    return fleet_record(record, lambda window, offset: accrued(selector, window, offset), by, step, heal, settle)


def fleet_sessions(record, step, heal, settle=""):
    """PromQL for the sessions' fleet counters: FLEET_SESSIONS_STARTED or FLEET_SESSIONS_ENDED."""
    increment = episodes_started if record == FLEET_SESSIONS_STARTED else episodes_ended
    return fleet_record(record, increment, "", step, heal, settle)


def _quoted(regex):
    """A regex as the contents of a PromQL double-quoted string."""
    return regex.replace("\\", "\\\\").replace('"', '\\"')


def _all_matches(prices):
    return "|".join("(?:{0})".format(model["match"]) for model in prices["models"])


def price_expr(prices, token_type, window, record=None):
    """PromQL for the cost of one token type over a window, priced per model.

    ``record`` names a recording rule that already holds what the token counters accrued in
    that window, by ``model`` and ``type`` (``claude_code:token_usage_tokens:accrued24h`` of
    files/rules/claude_code_recording.yml): the query then reads it instead of the raw
    per-session series. Returns a scalar-like single-element vector (``or vector(0)``: a
    true zero is 0).
    """
    key = PRICE_KEYS[token_type]
    per = float(prices.get("per", 1000000))

    def amount(selector_labels):
        if record:
            return "{0}{{{1}}}".format(record, selector_labels)
        return summable_accrued("{0}{{{1}}}".format(TOKEN_METRIC, selector_labels), window)

    # Models with the same price for this token type share one selector.
    by_price = {}
    for model in prices["models"]:
        by_price.setdefault(float(model[key]), []).append(model["match"])
    parts = []
    for price in sorted(by_price):
        labels = 'type="{0}",model=~"{1}"'.format(token_type, _quoted("|".join(by_price[price])))
        parts.append("{0} * {1}".format(amount(labels), _num(price / per)))
    return "sum(\n  " + "\n  or ".join(parts) + "\n) or vector(0)"


def unpriced_expr(prices, window, record=None):
    """PromQL for the tokens (all types) of models that match no price entry in the window.

    Shown beside the priced panels, so that a model Claude Code starts to use before the price
    list knows it is visible as unpriced, never given a guessed price. 0 when every model is priced.
    """
    labels = 'model!~"{0}"'.format(_quoted(_all_matches(prices)))
    if record:
        amount = "{0}{{{1}}}".format(record, labels)
    else:
        amount = summable_accrued("{0}{{{1}}}".format(TOKEN_METRIC, labels), window)
    return "sum({0}) or vector(0)".format(amount)


def price_table_markdown(prices):
    """The prices as a Markdown table, with their date, for the priced panels' descriptions."""
    per = int(prices.get("per", 1000000))
    lines = [
        "Token-derived costs use these prices ({0} per {1:,} tokens), dated **{2}**, from "
        "`files/model_prices.yml` ({3}'s own; override with `grafana_model_prices`). A model that "
        "matches no row is not priced: its tokens are shown as unpriced. Cache writes are priced "
        "as 5-minute writes and every request at the base tier (the token counts cannot tell "
        "1-hour writes or long prompts apart); Claude Code's own cost, in the other panels, has "
        "them.".format(prices.get("currency", "USD"), per, prices["date"], prices.get("source", "Claude Code")),
        "",
        "| Model | Input | Output | Cache read | Cache write 5m | Cache write 1h | Long prompt (above, input / output) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for model in prices["models"]:
        long_prompt = model.get("long_prompt")
        lines.append("| {0} | {1} | {2} | {3} | {4} | {5} | {6} |".format(
            model["name"], model["input"], model["output"], model["cache_read"], model["cache_write"],
            model.get("cache_write_1h", ""),
            "{0:,} tokens: {1} / {2}".format(long_prompt["above_prompt_tokens"], long_prompt["input"], long_prompt["output"])
            if long_prompt else ""))
    return "\n".join(lines)


def apply_prices(dashboard, prices):
    """Return a copy of the dashboard with every priced target and the price table re-rendered."""
    result = copy.deepcopy(dashboard)

    def walk(panels):
        for panel in panels:
            for target in panel.get("targets", []):
                marker = target.get("tccPrice")
                if marker:
                    target["expr"] = price_expr(prices, marker["tokenType"], marker["window"], marker.get("record"))
                marker = target.get("tccUnpriced")
                if marker:
                    target["expr"] = unpriced_expr(prices, marker["window"], marker.get("record"))
                    if marker.get("shareOf"):
                        # a percentage of all tokens: shareOf is PromQL for the total (none: no value, not NaN)
                        target["expr"] = "100 * ({0}) / (({1}) > 0)".format(target["expr"], marker["shareOf"])
            marker = panel.get(PRICE_PANEL_MARKER)
            if marker:
                panel["description"] = marker["lead"] + "\n\n" + price_table_markdown(prices)
                if panel.get("type") == "text":
                    panel.setdefault("options", {})["content"] = price_table_markdown(prices)
            walk(panel.get("panels", []))

    walk(result.get("panels", []))
    return result


def use_fleet_counters(dashboard):
    """A copy of the dashboard whose targets marked FLEET_TARGET_MARKER read the fleet counters
    (files/rules/claude_code_fleet.yml): the marker's expression replaces the target's."""
    result = copy.deepcopy(dashboard)

    def walk(panels):
        for panel in panels:
            for target in panel.get("targets", []):
                if target.get(FLEET_TARGET_MARKER):
                    target["expr"] = target[FLEET_TARGET_MARKER]
            walk(panel.get("panels", []))

    walk(result.get("panels", []))
    return result
