"""plugins/module_utils/inventory_rules.py: the budget and silence rules rendered from the inventory.

What the rules compute is tested by promtool (tests/rules/budgets*.test.yml, silence*.test.yml,
on 2.42, 2.53 and 3.5); here: the files in the repository are what the generator writes, the
metrics the version-silence alert watches are the catalogs', the calendar arithmetic's constants,
and that bad settings are refused with a message that names them.
"""

from __future__ import annotations

import json
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "plugins" / "module_utils"))
sys.path.insert(0, str(ROOT / "tests" / "catalog"))
import catalog as cat  # noqa: E402  pylint: disable=wrong-import-position,import-error
import inventory_rules as rules  # noqa: E402  pylint: disable=wrong-import-position,import-error


def test_rule_files_are_what_the_generator_writes():
    out = subprocess.run([sys.executable, str(ROOT / "tests" / "rules" / "generate.py"), "--check"],
                         capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_prometheus_role_renders_exactly_these_files():
    vars_main = (ROOT / "roles" / "prometheus" / "vars" / "main.yml").read_text(encoding="utf-8")
    listed = re.search(r"_prometheus_inventory_rule_files: \[([^\]]*)\]", vars_main).group(1)
    assert [name.strip() for name in listed.split(",")] == list(rules.FILES)
    for name in rules.FILES:
        assert (ROOT / "files" / "rules" / name).exists(), name


def test_version_silence_watches_what_every_session_of_every_supported_version_sends():
    catalogs = cat.load_catalogs()
    every = None
    for catalog in catalogs.values():
        names = {cat.prometheus_metric_name(name, m["unit"], m["type"], m.get("monotonic", False))
                 for name, m in catalog["metrics"].items() if m["scenarios"] == cat.ALL}
        every = names if every is None else every & names
    assert set(rules.EVERY_SESSION) == every, sorted(every)
    used = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "files" / "dashboards").glob("*.json"))
    for metric in rules.EVERY_SESSION:
        assert metric in used, f"{metric}: no dashboard needs it"


@pytest.mark.parametrize("offset,seconds,shift,jump", [
    ("+00:00", 0, 0, 0), ("Z", 0, 0, 0), ("+02:00", 7200, 79200, 86400), ("-05:00", -18000, 18000, 0),
    ("+05:30", 19800, 66600, 86400), ("+14:00", 50400, 36000, 86400), ("-03:30", -12600, 12600, 0),
])
def test_calendar_constants(offset, seconds, shift, jump):
    calendar = rules.Calendar(offset)
    assert (calendar.offset, calendar.shift, calendar.jump) == (seconds, shift, jump)
    # the local period that starts at or after a UTC midnight step starts at step + shift, and is
    # a local midnight: (step + shift + offset) is a whole number of days
    assert (shift + seconds) % 86400 == 0 and 0 <= shift < 86400


def test_subquery_ranges_hold_exactly_their_steps():
    calendar = rules.Calendar("+05:30")
    assert calendar.steps(31) == "[30d23h59m59s999ms:1d] offset 18h30m"
    assert calendar.steps(1) == "[23h59m59s999ms:1d] offset 18h30m"
    assert calendar.steps(5, back=1) == "[4d23h59m59s999ms:1d] offset 1d18h30m"
    assert rules.Calendar("+00:00").steps(1) == "[23h59m59s999ms:1d]"


def test_a_local_day_is_read_with_a_negative_offset():
    text = rules.Calendar("+02:00").period_accrued("x")
    assert "max_over_time(x[1d] offset -1d22h)" in text and "last_over_time(x[1h] offset -22h)" in text


@pytest.mark.parametrize("days,count,span", [
    (["mon", "tue", "wed", "thu", "fri"], 3, 5),  # a Monday: Friday, Thursday, Wednesday
    (["mon", "tue", "wed", "thu", "fri"], 1, 3),  # a Monday: Friday
    (["sun", "mon", "tue", "wed", "thu"], 2, 4),  # a Sunday: Thursday, Wednesday
    (list(rules.WEEKDAYS), 1, 1),
])
def test_span_reaches_the_last_working_days(days, count, span):
    assert rules._span(days, count) == span  # pylint: disable=protected-access


def _python(expr, index):
    """Evaluate the weekday arithmetic of is_working / working_index for one period index."""
    text = expr.replace("bool ", "").replace("clamp(", "_clamp(").replace("floor(", "_floor(")
    return eval(text, {"_clamp": lambda v, lo, hi: max(lo, min(hi, v)), "_floor": lambda v: v // 1,  # nosec
                       "I": index})


@pytest.mark.parametrize("days", [["mon", "tue", "wed", "thu", "fri"], ["sun", "mon", "tue", "wed", "thu"],
                                  ["mon", "wed", "fri"], list(rules.WEEKDAYS)])
def test_working_day_numbers_count_working_days(days):
    """is_working is 1 on working days only; working_index grows by 1 on each of them, by 0 otherwise."""
    working = rules.is_working("I", days).replace(">=", ">=").replace("==", "==")
    number = rules.working_index("I", days)
    previous = _python(number, 99)
    for index in range(100, 130):  # day 100 of 1970 was a Saturday
        weekday = rules.WEEKDAYS[(index + rules.EPOCH_WEEKDAY) % 7]
        assert _python(working, index) == (weekday in days), (index, weekday)
        current = _python(number, index)
        assert current - previous == (1 if weekday in days else 0), (index, weekday)
        previous = current


@pytest.mark.parametrize("settings,message", [
    ({"utc_offset": "CET"}, "utc_offset must be"),
    ({"utc_offset": "+15:00"}, "is not an offset that exists"),
    ({"colour": "red"}, "unknown setting 'colour'"),
    ({"working_days": ["monday"]}, "working_days must be"),
    ({"budgets": {"teams": [{"team": "a", "monthly_usd": -1}]}}, "non-negative"),
    ({"budgets": {"teams": [{"team": "a"}, {"team": "a"}]}}, "listed twice"),
    ({"budgets": {"team_monthly": 5}}, "unknown budgets keys"),
    ({"people": [{"user_id": "x"}]}, "each of people"),
    ({"silence_period": "4m"}, "list all seven working_days"),
    ({"silence_working_days": 0}, "from 1 to 20"),
])
def test_bad_settings_are_refused_with_what_is_wrong(settings, message):
    with pytest.raises(rules.SettingsError, match=re.escape(message)):
        rules.render("claude_code_budgets.yml", settings)


def test_labels_are_quoted_for_promql():
    text = rules.render("claude_code_budgets.yml", {"budgets": {"teams": [{"team": 'a "b" \\c', "monthly_usd": 1}]},
                                                    "people": [{"user_id": "u", "name": "Zoë O'Brien"}]})
    assert 'label_replace(vector(1), "team", ' + json.dumps('a "b" \\c') + ', "", "")' in text
    assert '"display_name", "Zoë O\'Brien"' in text


def test_the_filter_names_the_problem():
    from ansible.errors import AnsibleFilterError  # pylint: disable=import-outside-toplevel
    from ansible_collections.telemetry.claude_code.plugins.filter.inventory_rules import inventory_rules  # pylint: disable=import-outside-toplevel

    assert "claude_code_budget_spend" in inventory_rules("claude_code_budgets.yml", {"utc_offset": "+01:00"})
    with pytest.raises(AnsibleFilterError, match="utc_offset"):
        inventory_rules("claude_code_budgets.yml", {"utc_offset": "Europe/Berlin"})
    with pytest.raises(AnsibleFilterError, match="no rule file"):
        inventory_rules("claude_code_alerts.yml")


def test_the_stack_scenario_deploys_the_rules_its_promtool_test_checks():
    """molecule/stack's live silence runs the rules tests/rules/silence_stack.test.yml tests."""
    import yaml  # pylint: disable=import-outside-toplevel
    sys.path.insert(0, str(ROOT / "tests" / "rules"))
    import generate  # noqa: E402  pylint: disable=import-outside-toplevel,import-error

    scenario = yaml.safe_load((ROOT / "molecule" / "stack" / "molecule.yml").read_text(encoding="utf-8"))
    backend = scenario["provisioner"]["inventory"]["group_vars"]["backend"]
    _name, fixture = generate.FIXTURES["silence_stack.yml"]
    deployed = {"utc_offset": backend["prometheus_calendar_utc_offset"],
                "working_days": backend["prometheus_calendar_working_days"],
                "silence_working_days": backend["prometheus_silence_working_days"],
                "silence_period": backend["prometheus_silence_period"],
                "silence_interval": backend["prometheus_silence_evaluation_interval"]}
    assert deployed == fixture
