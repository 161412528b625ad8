"""Every role's meta/argument_specs.yml documents exactly the variables of its defaults/main.yml.

Same names, same defaults (templated defaults compare as the literal string), every option
described and typed, and every variable prefixed with the role's name.
"""

from __future__ import annotations

import pathlib

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
ROLES = sorted(p for p in (ROOT / "roles").iterdir() if (p / "defaults" / "main.yml").exists())


def _load(path: pathlib.Path):
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle) or {}


@pytest.mark.parametrize("role", ROLES, ids=[r.name for r in ROLES])
def test_argument_specs_match_defaults(role):
    defaults = _load(role / "defaults" / "main.yml")
    spec_file = role / "meta" / "argument_specs.yml"
    assert spec_file.exists(), f"{role.name}: meta/argument_specs.yml is missing"
    options = _load(spec_file)["argument_specs"]["main"]["options"]

    missing = sorted(set(defaults) - set(options))
    extra = sorted(name for name in set(options) - set(defaults) if not options[name].get("required"))
    assert not missing, f"{role.name}: defaults without an argument spec: {missing}"
    assert not extra, f"{role.name}: argument specs with no default and not required: {extra}"

    for name, value in defaults.items():
        spec = options[name]
        assert spec.get("description"), f"{role.name}: {name} has no description"
        assert spec.get("type"), f"{role.name}: {name} has no type"
        assert spec.get("default") == value, (
            f"{role.name}: default of {name} differs: defaults/main.yml has {value!r}, "
            f"argument_specs.yml has {spec.get('default')!r}"
        )
        if "choices" in spec:
            assert value in spec["choices"], f"{role.name}: default of {name} is not among its choices"


@pytest.mark.parametrize("role", ROLES, ids=[r.name for r in ROLES])
def test_variables_are_role_prefixed(role):
    prefix = role.name + "_"
    defaults = _load(role / "defaults" / "main.yml")
    wrong = [name for name in defaults if not name.startswith(prefix)]
    assert not wrong, f"{role.name}: variables without the {prefix} prefix: {wrong}"


@pytest.mark.parametrize("role", [r for r in ROLES if not r.name.startswith("_")], ids=lambda r: r.name)
def test_tasks_are_split_the_same_way(role):
    tasks = {p.name for p in (role / "tasks").glob("*.yml")}
    for required in ("main.yml", "preflight.yml", "install.yml", "configure.yml", "service.yml"):
        assert required in tasks, f"{role.name}: tasks/{required} is missing"
