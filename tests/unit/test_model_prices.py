"""The price list is Claude Code's own, and every model Claude Code uses has a price.

files/model_prices.yml is generated (tests/catalog/model_prices.py) from the model catalog built
into the newest supported Claude Code, kept in docs/catalog/claude-code-<version>.models.json.
"""

from __future__ import annotations

import json
import pathlib
import re
import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "catalog"))
sys.path.insert(0, str(ROOT / "plugins" / "module_utils"))
import model_prices  # noqa: E402  pylint: disable=wrong-import-position,import-error
import pricing  # noqa: E402  pylint: disable=wrong-import-position,import-error

PRICES_TEXT = (ROOT / "files" / "model_prices.yml").read_text(encoding="utf-8")
PRICES = yaml.safe_load(PRICES_TEXT)["claude_code_model_prices"]
MODEL_CATALOGS = sorted((ROOT / "docs" / "catalog").glob("claude-code-*.models.json"))
SESSION_CATALOGS = sorted(p for p in (ROOT / "docs" / "catalog").glob("claude-code-*.json")
                          if not p.name.endswith(".models.json"))


def _version(path: pathlib.Path):
    return tuple(int(x) for x in re.search(r"claude-code-([0-9.]+?)(\.models)?\.json$", path.name).group(1).split("."))


def test_the_price_list_is_rendered_from_the_newest_model_catalog():
    assert MODEL_CATALOGS, "docs/catalog/claude-code-<version>.models.json is missing (tests/harness.sh prices)"
    newest = max(MODEL_CATALOGS, key=_version)
    models = json.loads(newest.read_text(encoding="utf-8"))
    assert PRICES["source"] == f"Claude Code {models['claude_code_version']}"
    assert model_prices.render_prices(models, PRICES["date"]) == PRICES_TEXT


def _priced(model: str):
    return [m for m in PRICES["models"] if re.fullmatch(m["match"], model)]


def test_every_model_of_the_catalog_has_exactly_one_price_row():
    for path in MODEL_CATALOGS:
        for model in json.loads(path.read_text(encoding="utf-8"))["models"]:
            for model_id in {model["id"], *model["provider_ids"].values()}:
                rows = _priced(model_id)
                assert len(rows) == 1, f"{model_id}: {len(rows)} price rows"
                assert rows[0]["input"] == model["prices"]["input"]


def _models_seen(catalog: dict):
    """`model` values a real session emitted, on metrics and events, in a session catalog."""
    seen = set()

    def walk(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "model" and isinstance(value, dict):
                    values = value.get("values")
                    if isinstance(values, list):
                        seen.update(v for v in values if isinstance(v, str))
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(catalog)
    return seen


@pytest.mark.parametrize("path", SESSION_CATALOGS, ids=[p.name for p in SESSION_CATALOGS])
def test_every_model_a_supported_claude_code_used_has_a_price(path):
    seen = _models_seen(json.loads(path.read_text(encoding="utf-8")))
    assert seen, f"{path.name}: no model value found"
    unpriced = sorted(m for m in seen if not _priced(m))
    assert not unpriced, f"{path.name}: models without a price: {unpriced}"


def test_price_expressions_are_valid_promql_strings():
    expr = pricing.price_expr(PRICES, "cacheCreation", "$__range")
    # Every regex reaches PromQL with its backslashes escaped once more.
    assert "\\\\." in expr and '\\.' not in expr.replace("\\\\.", "")


def test_the_promtool_test_of_the_accrual_forms_tests_pricings_own_expressions():
    """tests/rules/accrual_forms.test.yml (run by promtool 2.42, 2.53 and 3.5) shows that
    accrued_terms() sums to what accrued() sums to; it must test the expressions pricing.py writes."""
    doc = yaml.safe_load((ROOT / "tests" / "rules" / "accrual_forms.test.yml").read_text(encoding="utf-8"))
    selector = "claude_code_cost_usage_USD_total"
    forms = {re.sub(r"\s+", "", form) for form in (pricing.accrued(selector, "2h"), pricing.accrued_terms(selector, "2h"))}
    tested = set()
    for case in doc["tests"][0]["promql_expr_test"]:
        match = re.fullmatch(r"sum(?:by\(model\))?\((.*)\)", re.sub(r"\s+", "", case["expr"]))
        assert match, case["expr"]
        tested.add(match.group(1))
    assert tested == forms


def test_accrued_terms_where_they_read_less():
    """A dashboard's range and windows longer than the lookback read the window once; a time
    series panel's step ($__interval) and the hour windows keep accrued()."""
    selector = "claude_code_cost_usage_USD_total"
    for window in ("$__range", "24h", "7d", "2h"):
        assert pricing.summable_accrued(selector, window) == pricing.accrued_terms(selector, window)
    for window in ("$__interval", "1h", "30m"):
        assert pricing.summable_accrued(selector, window) == pricing.accrued(selector, window)
    assert '"tcc_accrual"' in pricing.accrued_terms(selector, "$__range", "7d")
    assert "@ ${__from:date:seconds} offset 7d" in pricing.accrued_terms(selector, "$__range", "7d")


def test_the_recording_rules_write_pricings_accrual_forms():
    """files/rules/claude_code_recording.yml writes its accrual records by hand (for reading):
    each must be pricing.summable_accrued() of its counter and window, summed, token for token
    (whitespace and grouping parentheses aside: `or` is left-associative)."""
    doc = yaml.safe_load((ROOT / "files" / "rules" / "claude_code_recording.yml").read_text(encoding="utf-8"))
    records = [r for group in doc["groups"] for r in group["rules"]
               if re.fullmatch(r"claude_code:[a-z_A-Z]+:accrued(1h|24h)", r.get("record", ""))]
    assert len(records) == 7, [r["record"] for r in records]  # 2 of 1h, 5 of 24h

    def tokens(expr):
        return re.sub(r"[\s()]+", "", expr)

    for rule in records:
        window = rule["record"].rsplit("accrued", 1)[1]
        selector = re.search(r"claude_code_[a-zA-Z_]+_total\{[^}]*\}", rule["expr"]).group(0)
        by = re.match(r"\s*sum by \(([^)]*)\)", rule["expr"]).group(1)
        expected = "sum by ({0}) ({1})".format(by, pricing.summable_accrued(selector, window))
        assert tokens(rule["expr"]) == tokens(expected), rule["record"]
