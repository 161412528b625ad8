"""The collector's attribute policy classifies everything a supported Claude Code emits.

roles/otel_collector/vars/main/attributes.yml keeps what is verified safe, keeps content only
with a named opt-in, hashes identities and drops the rest. Whatever is not in it is dropped too
(privacy fails closed), so a key a new Claude Code adds never leaks; but a key the catalogs
(docs/catalog/, real sessions) show and the policy does not mention is a decision nobody took:
it fails here, and the drift command shows it first.
"""

from __future__ import annotations

import pathlib
import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "catalog"))
import catalog as catalogs  # noqa: E402  pylint: disable=wrong-import-position,import-error

POLICY = yaml.safe_load((ROOT / "roles/otel_collector/vars/main/attributes.yml").read_text(encoding="utf-8"))
DEFAULTS = yaml.safe_load((ROOT / "roles/otel_collector/defaults/main.yml").read_text(encoding="utf-8"))
CATALOGS = catalogs.load_catalogs()
# OTEL_RESOURCE_ATTRIBUTES keys of the test sessions (the catalog's managed-settings scenarios set
# a team and a cost centre): the deployment's own, kept through otel_collector_extra_attributes.
EXTRA = set(DEFAULTS["otel_collector_extra_attributes"])
HASHED = set(DEFAULTS["otel_collector_hashed_attributes"])
OPT_IN = {key: variable for variable, keys in POLICY["_otel_collector_opt_in_attributes"].items() for key in keys}
DROPPED = set(POLICY["_otel_collector_dropped_attributes"])
KEPT = {
    "events": set(POLICY["_otel_collector_event_attributes"]) | set(POLICY["_otel_collector_derived_attributes"]),
    "metrics": set(POLICY["_otel_collector_metric_attributes"]),
    "resource": set(POLICY["_otel_collector_resource_attributes"]),
}


def _keys(catalog: dict):
    """(where, name, key, attribute) of every attribute key in a catalog."""
    for kind in ("metrics", "events"):
        for name, entry in catalog.get(kind, {}).items():
            for key, attribute in entry.get("attributes", {}).items():
                yield kind, name, key, attribute
    resource = catalog.get("resource", {})
    for key, attribute in resource.get("attributes", resource).items():
        yield "resource", "", key, attribute


@pytest.mark.parametrize("version", sorted(CATALOGS))
def test_every_emitted_key_is_classified(version):
    unclassified = sorted({f"{kind} {name} {key}".strip() for kind, name, key, _attribute in _keys(CATALOGS[version])
                           if key not in KEPT[kind] | set(OPT_IN) | HASHED | DROPPED | EXTRA})
    assert not unclassified, (
        f"Claude Code {version} emits attributes the collector's policy does not classify (they are dropped, "
        f"but decide: keep, opt-in, hash or drop with a reason, in vars/main/attributes.yml): {unclassified}")


@pytest.mark.parametrize("version", sorted(CATALOGS))
def test_content_is_never_kept_without_an_opt_in(version):
    """A key the catalog saw carrying real content (a content opt-in's scenarios) is opt-in or dropped."""
    leaking = sorted({f"{kind} {name} {key}".strip() for kind, name, key, attribute in _keys(CATALOGS[version])
                      if attribute.get("content_in") and key in KEPT[kind]})
    assert not leaking, f"content attributes kept by default: {leaking}"


def test_classes_do_not_overlap():
    kept = KEPT["events"] | KEPT["metrics"] | KEPT["resource"]
    assert not kept & set(OPT_IN), sorted(kept & set(OPT_IN))
    assert not kept & DROPPED, sorted(kept & DROPPED)
    assert not set(OPT_IN) & DROPPED, sorted(set(OPT_IN) & DROPPED)
    assert not HASHED & (kept | set(OPT_IN) | DROPPED), sorted(HASHED & (kept | set(OPT_IN) | DROPPED))


def test_every_opt_in_variable_exists_with_default_false():
    for variable in POLICY["_otel_collector_opt_in_attributes"]:
        assert DEFAULTS.get(variable) is False, variable
        assert variable in POLICY["_otel_collector_opt_ins_on"], f"{variable} is not read by _otel_collector_opt_ins_on"


# Names a dashboard may read although the collector's defaults do not keep them, and why.
# display_name is not telemetry: the prometheus role's people mapping (prometheus_people, the
# series claude_code:people:info), joined at display time.
NOT_TELEMETRY = {"display_name"}
# A dashboard about an opt-in may read what only that opt-in keeps (and says so in its panels).
OPT_IN_DASHBOARDS = {"claude-code-repositories.json": "otel_collector_keep_repository"}


def _used_names():
    """Every Prometheus label and Loki field the dashboards' queries read, as Prometheus/Loki name them."""
    import json  # noqa: E402  pylint: disable=import-outside-toplevel
    import queries  # noqa: E402  pylint: disable=import-outside-toplevel,import-error
    used = set()
    for path in sorted((ROOT / "files" / "dashboards").glob("*.json")):
        opted_in = {catalogs.prometheus_label(key) for key, variable in OPT_IN.items()
                    if variable == OPT_IN_DASHBOARDS.get(path.name)}
        stack = list(json.loads(path.read_text(encoding="utf-8"))["panels"])
        while stack:
            panel = stack.pop()
            stack.extend(panel.get("panels", []))
            for target in panel.get("targets", []):
                expr = target.get("expr") or ""
                if target["datasource"]["type"] == "prometheus" and "claude_code" in expr:
                    names = queries.promql_names(expr)
                    used |= ({m[1] for m in names["matchers"]} | names["grouping"]) - opted_in
                elif target["datasource"]["type"] == "loki":
                    used |= queries.logql_names(expr)["fields"] - opted_in
    return used - catalogs.PROMETHEUS_ADDED_LABELS - catalogs.LOKI_ADDED_FIELDS - {"__name__"} - NOT_TELEMETRY


def test_the_policy_keeps_what_the_dashboards_use():
    """Every Loki field and Prometheus label a dashboard reads survives the policy with the defaults."""
    kept = {catalogs.prometheus_label(key) for key in KEPT["events"] | KEPT["metrics"] | KEPT["resource"] | EXTRA | HASHED}
    missing = sorted(name for name in _used_names() if name not in kept)
    assert not missing, f"dashboards read fields the collector drops with its defaults: {missing}"
