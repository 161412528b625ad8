"""The dashboards in files/dashboards/ are correct for what Claude Code really emits.

Names come from docs/telemetry.md (measured); nothing here may use a metric, label or Loki
field that page does not list. Query syntax is checked by the shared lint
(plugins/module_utils/dashboard_lint.py) in test_dashboard_lint.py; the stack scenario runs the
Prometheus queries against a real session.
"""

from __future__ import annotations

import importlib.util
import os
import json
import pathlib
import re
import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "plugins" / "module_utils"))
import pricing  # noqa: E402  pylint: disable=wrong-import-position,import-error

DASHBOARDS = sorted((ROOT / "files" / "dashboards").glob("*.json"))
MAIN = ROOT / "files" / "dashboards" / "claude-code.json"
# Every dashboard file and the generator that writes it.
GENERATORS = {
    "claude-code.json": "generate_main.py",
    "claude-code-overview.json": "generate_overview.py",
    "claude-code-deep-dive.json": "generate_deep_dive.py",
    "claude-code-stack-health.json": "generate_stack_health.py",
    "claude-code-budgets.json": "generate_budgets.py",
    "claude-code-repositories.json": "generate_repositories.py",
    "claude-code-fleet.json": "generate_fleet.py",
    "claude-code-people.json": "generate_people.py",
}
RECORDS = {name for path in sorted((ROOT / "files" / "rules").glob("claude_code_*.yml"))
           for name in re.findall(r"record: (claude_code:[A-Za-z_:0-9]+)", path.read_text(encoding="utf-8"))}
RECORDING = set(re.findall(r"record: (claude_code:[A-Za-z_:0-9]+)",
                           (ROOT / "files" / "rules" / "claude_code_recording.yml").read_text(encoding="utf-8")))
DOC = (ROOT / "docs" / "telemetry.md").read_text(encoding="utf-8")
PRICES = yaml.safe_load((ROOT / "files" / "model_prices.yml").read_text(encoding="utf-8"))["claude_code_model_prices"]

# The catalog, read from docs/telemetry.md: Claude Code's series, and the stack's own.
METRICS = set(re.findall(r"`(claude_code_[A-Za-z_]+_total)`", DOC))
STACK_METRICS = set(re.findall(r"`((?:otelcol|prometheus|alertmanager|loki)_[a-z_]+)`", DOC)) | {"up"}
PROM_LABELS = {"job", "instance", "otel_scope_name", "otel_scope_version", "user_id", "session_id", "terminal_type",
               "model", "query_source", "agent_name", "type", "tool_name", "decision", "source", "language",
               "start_type", "le", "team", "cost_center",
               # the Fleet, Repositories and People dashboards (docs/catalog/, and the collection's own
               # `project` and `display_name`: tests/unit/test_catalog.py, COLLECTION_LABELS)
               "app_version", "app_entrypoint", "anthropic_provider", "vcs_owner_name", "vcs_repository_name",
               "project", "display_name",
               # the stack's own series
               "receiver", "transport", "exporter", "data_type", "rule_group", "state", "integration", "tenant",
               "reason"}
# The Loki fields of Claude Code's events in a supported version (the catalogs, docs/catalog/),
# and those the collector derives itself (roles/otel_collector/vars/main/attributes.yml).
sys.path.insert(0, str(ROOT / "tests" / "catalog"))
import catalog as _catalog  # noqa: E402  pylint: disable=wrong-import-position,import-error
LOKI_FIELDS = set(_catalog.emitted_loki_fields()) | set(_catalog.collector_derived_fields())
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "or", "and", "unless", "offset", "bool"}


def _load(path):
    return json.loads(path.read_text(encoding="utf-8"))


def _panels(dashboard):
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])


def _targets(dashboard, ds_type):
    for panel in _panels(dashboard):
        for target in panel.get("targets", []):
            if target.get("datasource", {}).get("type") == ds_type:
                yield panel, target


def test_catalog_was_read_from_the_docs():
    assert {"claude_code_cost_usage_USD_total", "claude_code_token_usage_tokens_total"} <= METRICS
    for label in ("session_id", "query_source", "agent_name", "start_type"):
        assert f"`{label}`" in DOC or label in DOC, label
    for field in ("prompt_length", "tool_name", "event_name", "service_name"):
        assert field in DOC, field


def _built(generator, raw, fleet):
    """(common, the board) of one build of a generator."""
    directory = str(ROOT / "tests" / "dashboards")
    saved = {name: os.environ.get(name) for name in ("TCC_DASHBOARD_RAW", "TCC_DASHBOARD_FLEET")}
    os.environ["TCC_DASHBOARD_RAW"] = "1" if raw else "0"
    os.environ["TCC_DASHBOARD_FLEET"] = "1" if fleet else "0"
    sys.path.insert(0, directory)
    try:
        for name in ("common", generator[:-3]):
            sys.modules.pop(name, None)
        spec = importlib.util.spec_from_file_location(generator[:-3], ROOT / "tests" / "dashboards" / generator)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return sys.modules["common"], module.dashboard
    finally:
        sys.path.remove(directory)
        for name in ("common", generator[:-3]):
            sys.modules.pop(name, None)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _generated(generator, raw=False):
    """The dashboard a generator builds (raw: every query on the raw series, no recording rules),
    with the fleet build's expressions as tccFleet markers (common.write)."""
    common, board = _built(generator, raw, False)
    _common, fleet_board = _built(generator, raw, True)
    return pricing.apply_prices(common.with_fleet(board, fleet_board), PRICES)


def test_every_dashboard_has_a_generator():
    assert sorted(p.name for p in DASHBOARDS) == sorted(GENERATORS)


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_dashboard_is_what_its_generator_writes(name):
    assert _generated(GENERATORS[name]) == _load(ROOT / "files" / "dashboards" / name), (
        f"files/dashboards/{name} is stale: run python3 tests/dashboards/{GENERATORS[name]}")


def test_recording_rules_replace_only_fixed_windows():
    """The main dashboard reads records exactly where its raw query has a fixed 1h/24h window."""
    raw, shipped = _generated("generate_main.py", raw=True), _load(MAIN)
    changed = []
    for panel_raw, panel in zip(_panels(raw), _panels(shipped)):
        for target_raw, target in zip(panel_raw.get("targets", []), panel.get("targets", [])):
            if target_raw.get("expr") != target.get("expr"):
                changed.append(panel["title"])
                assert re.search(r"\[(1h|24h)\]", target_raw["expr"]), panel["title"]
                assert "claude_code:" in target["expr"], panel["title"]
                assert set(re.findall(r"claude_code:[A-Za-z_:0-9]+", target["expr"])) <= RECORDING, panel["title"]
    assert set(changed) == {"Cached Write Cost 24h", "Regular Input Cost 24h", "Active Time 24h",
                            "Token Distribution by Model 24h", "Active Sessions 24h", "Peak Cost Hours",
                            "Cost Anomaly Detection"}


def test_main_dashboard_has_26_panels_in_7_rows():
    dashboard = _load(MAIN)
    assert dashboard["uid"] == "claude-code" and dashboard["title"] == "Claude Code"
    rows = [p for p in dashboard["panels"] if p["type"] == "row"]
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    assert [r["title"] for r in rows] == [
        "Cost Overview", "Cost Analytics", "Session & Code Metrics", "Token Analytics",
        "Tool & Activity", "Anomaly & Patterns", "Velocity & Distribution"]
    assert len(panels) == 26


def test_prices_in_the_file_are_the_prices_file():
    dashboard = _load(MAIN)
    assert pricing.apply_prices(dashboard, PRICES) == dashboard
    priced = [p for p in _panels(dashboard) if "tccPriced" in p]
    assert {p["title"] for p in priced} == {"Cached Write Cost 24h", "Regular Input Cost 24h"}
    for panel in priced:
        assert PRICES["date"] in panel["description"]
        assert "shown as unpriced" in panel["description"]


def test_unknown_models_are_shown_as_unpriced_not_priced():
    """No guessed price: the priced panels show the tokens of models the price list does not know."""
    assert "unknown_model" not in PRICES
    expr = pricing.price_expr(PRICES, "input", "24h")
    assert 'model!~"' not in expr and "or vector(0)" in expr
    unpriced = pricing.unpriced_expr(PRICES, "24h")
    assert 'model!~"' in unpriced and "or vector(0)" in unpriced
    dashboard = _load(MAIN)
    for panel in (p for p in _panels(dashboard) if "tccPriced" in p):
        markers = [t for t in panel["targets"] if "tccUnpriced" in t]
        assert markers, f"{panel['title']}: no unpriced-tokens target"


@pytest.mark.parametrize("path", DASHBOARDS, ids=[p.name for p in DASHBOARDS])
def test_only_documented_metrics_and_labels(path):
    dashboard = _load(path)
    for panel, target in _targets(dashboard, "prometheus"):
        expr = target["expr"]
        for metric in set(re.findall(r"\b(claude_code_[A-Za-z_]+)\b", expr)):
            assert metric in METRICS, f"{panel['title']}: {metric} is not in docs/telemetry.md"
        for metric in set(re.findall(r"\b((?:otelcol|prometheus|alertmanager|loki)_[a-z_]+)\b", expr)):
            assert metric in STACK_METRICS, f"{panel['title']}: {metric} is not in docs/telemetry.md"
        for record in set(re.findall(r"\bclaude_code:[A-Za-z_:0-9]+", expr)):
            assert record in RECORDS, f"{panel['title']}: {record} is not a record of files/rules"
        labels = set(re.findall(r"\b([a-z_]+)\s*(?:=~|!~|!=|=)\s*\"", expr))
        for group in re.findall(r"\b(?:by|without|on|ignoring)\s*\(([^)]*)\)", expr):
            labels.update(x.strip() for x in group.split(",") if x.strip())
        unknown = labels - PROM_LABELS - PROMQL_WORDS
        assert not unknown, f"{panel['title']}: labels not in docs/telemetry.md: {unknown}"


@pytest.mark.parametrize("path", DASHBOARDS, ids=[p.name for p in DASHBOARDS])
def test_only_documented_loki_fields(path):
    dashboard = _load(path)
    for panel, target in _targets(dashboard, "loki"):
        expr = target["expr"]
        assert "| json" not in expr, f"{panel['title']}: OTLP events are not JSON lines; use structured metadata"
        assert "claude_code.tool_result" not in expr and 'event_name="claude_code.' not in expr, panel["title"]
        fields = set(re.findall(r"\|\s*([a-z_]+)\s*(?:=~|!~|!=|<=|>=|=|<|>)", expr))
        fields.update(re.findall(r"\{([a-z_]+)\s*=", expr))
        for group in re.findall(r"\bby\s*\(([^)]*)\)", expr):
            fields.update(x.strip() for x in group.split(",") if x.strip())
        unknown = fields - LOKI_FIELDS
        assert not unknown, f"{panel['title']}: Loki fields not in docs/telemetry.md: {unknown}"


@pytest.mark.parametrize("path", DASHBOARDS, ids=[p.name for p in DASHBOARDS])
def test_every_panel_and_target_uses_the_datasource_variables(path):
    dashboard = _load(path)
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["ds_prometheus"]["type"] == "datasource" and variables["ds_prometheus"]["query"] == "prometheus"
    assert variables["ds_loki"]["type"] == "datasource" and variables["ds_loki"]["query"] == "loki"
    wanted = {"prometheus": "${ds_prometheus}", "loki": "${ds_loki}"}
    for panel in _panels(dashboard):
        if panel["type"] in ("row", "text"):
            continue
        assert panel["datasource"]["uid"] == wanted[panel["datasource"]["type"]], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == wanted[target["datasource"]["type"]], panel["title"]


def test_no_tool_called_task_and_no_increase_on_money():
    dashboard = _load(MAIN)
    for panel, target in _targets(dashboard, "prometheus"):
        assert "increase(" not in target["expr"], f"{panel['title']}: increase() over-counts per-session series"
    for panel, target in _targets(dashboard, "loki"):
        assert '"Task"' not in target["expr"], panel["title"]


@pytest.mark.parametrize("path", DASHBOARDS, ids=[p.name for p in DASHBOARDS])
def test_fixed_windows_are_pinned_and_said(path):
    dashboard = _load(path)
    for panel in _panels(dashboard):
        if panel["type"] == "row":
            continue
        title = panel["title"]
        if re.search(r"24h|Today|Weekly|Week|Month", title):
            assert panel.get("timeFrom"), f"{title}: names a window but follows the dashboard range"
            assert "Fixed window" in panel.get("description", ""), f"{title}: description must say the window is fixed"
        else:
            assert not panel.get("timeFrom"), f"{title}: only panels that name a window may pin one"


@pytest.mark.parametrize("path", DASHBOARDS, ids=[p.name for p in DASHBOARDS])
def test_units_decimals_and_true_zeros(path):
    dashboard = _load(path)
    for panel in _panels(dashboard):
        if panel["type"] in ("row", "text", "logs"):
            continue
        defaults = panel["fieldConfig"]["defaults"]
        assert defaults.get("unit"), f"{panel['title']}: no unit"
        assert "decimals" in defaults, f"{panel['title']}: no decimals"
        assert defaults.get("thresholds", {}).get("steps"), f"{panel['title']}: no thresholds"
        if panel["type"] == "stat" and defaults.get("noValue") == "0":
            for target in panel["targets"]:
                assert "or vector(0)" in target["expr"], f"{panel['title']} [{target['refId']}]: a true zero must show 0"
        elif panel["type"] in ("stat", "gauge", "piechart", "bargauge"):
            # a ratio with nothing to divide is not a zero: it says so in words
            assert defaults.get("noValue"), f"{panel['title']}: say what an empty result means"


def test_stats_that_ask_for_comparisons_have_them():
    dashboard = _load(MAIN)
    by_title = {p["title"]: p for p in _panels(dashboard)}
    today = by_title["Total Tokens Today"]["targets"]
    assert len(today) == 2 and "offset 7d" in today[1]["expr"]
    weekly = by_title["Weekly Total Token Usage"]["targets"]
    assert len(weekly) == 2 and "offset 7d" in weekly[1]["expr"]
    forecast = by_title["Cost Forecast"]["targets"]
    assert len(forecast) == 2 and forecast[1]["expr"].startswith("30 * ") and "$__range_s" in forecast[0]["expr"]


@pytest.mark.parametrize("path", DASHBOARDS, ids=[p.name for p in DASHBOARDS])
def test_shared_lint_with_real_parsers(path):
    """The module's own lint: structure, datasources, catalog, PromQL via promtool, LogQL via Grafana's grammar."""
    import dashboard_lint  # pylint: disable=import-outside-toplevel,import-error

    promtool = os.environ.get("TCC_PROMTOOL")
    modules = os.environ.get("TCC_LOGQL_MODULES")
    if not promtool or not modules:
        pytest.fail("the harness provides TCC_PROMTOOL and TCC_LOGQL_MODULES (tests/lint/setup.sh); "
                    "run: eval \"$(bash tests/lint/setup.sh)\"")
    problems = dashboard_lint.lint_dashboard(
        _load(path),
        metric_catalog=sorted(METRICS | STACK_METRICS | RECORDS),
        promtool=promtool,
        logql_parser=str(ROOT / "tests" / "lint" / "logql_parse.mjs"),
    )
    assert not [p for p in problems if dashboard_lint.is_error(p)], problems
    assert not [p for p in problems if p["kind"] == "lint-skipped"], problems
