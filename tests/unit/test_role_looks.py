"""A role's look at its files and the tasks it lets skip agree with each other.

Each role runs one command that looks at its directories and at the files its templates write
("Look at the ... directories and files in place": `stat` and `sha1sum` of every path), and each
template task then runs only when `file_differs` says the file in place differs from what the
task would write. Nothing checks at run time that the two name the same file: a template whose
path is not in the look, or whose `when:` names another owner, group, mode or template than the
task writes, is written (and validated) on every run, and a re-run still reports `changed=0`.
That would only show as a slower re-run. This test reads every such task and checks, with every
variable standing for itself (`<name>`), that

- the path `file_differs` is asked about is the task's `dest`, and it is among the looked-at files;
- its owner, group and mode are the task's, and its content is the task's own template;
- the systemd unit `_common/tasks/unit.yml` writes for the role is among the looked-at files, and
  the role passes its look to it as `_common_unit_found`.
"""

from __future__ import annotations

import pathlib
import re

import jinja2
import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
LOOK_NAME = re.compile(r"^Look at the .* director(?:y|ies) and files in place$")
FOUND_CALL = re.compile(r"(_[a-z_]+_found)\.stdout_lines \| telemetry\.claude_code\.file_differs\(")


class _Symbol(jinja2.Undefined):
    """An undefined variable renders as <name>, and so does any attribute of it."""

    def __str__(self):
        return f"<{self._undefined_name}>"

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return _Symbol(name=f"{self._undefined_name}.{name}")


def _environment(calls: list) -> jinja2.Environment:
    env = jinja2.Environment(undefined=_Symbol)

    def file_differs(found, path, owner, group, mode, content=None):
        calls.append({"found": str(found), "path": str(path), "owner": str(owner), "group": str(group),
                      "mode": str(mode), "content": content})
        return True

    env.filters["telemetry.claude_code.file_differs"] = file_differs
    env.filters["basename"] = lambda value: str(value).rsplit("/", 1)[-1]
    env.globals["lookup"] = lambda plugin, src: ("lookup", plugin, src)
    return env


def _render(env: jinja2.Environment, text, variables: dict):
    """A task field as Ansible would template it, variables standing for themselves."""
    if not isinstance(text, str):
        return text
    return env.from_string(text).render(**variables)


def _expression(env: jinja2.Environment, text: str, variables: dict):
    """The value of a bare Jinja expression (a `when:`) or of a single '{{ ... }}' field."""
    text = text.strip()
    match = re.fullmatch(r"\{\{(.*)\}\}", text, re.S)
    return env.compile_expression(match.group(1) if match else text)(**variables)


def _tasks(role: pathlib.Path):
    with (role / "tasks" / "configure.yml").open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


ROLES = sorted(p.parent.parent for p in ROOT.glob("roles/*/tasks/configure.yml")
               if any(LOOK_NAME.match(t.get("name", "")) for t in yaml.safe_load(p.read_text(encoding="utf-8"))))


def _look(role: pathlib.Path, env: jinja2.Environment):
    """The register of the role's look and the files it looks at, rendered."""
    look = next(t for t in _tasks(role) if LOOK_NAME.match(t.get("name", "")))
    variables = {}
    files_var = next(name for name in look["vars"] if name.endswith("_look_files"))
    files = _expression(env, look["vars"][files_var], variables)
    return look["register"], [str(f) for f in files]


def _unit_path(env: jinja2.Environment, name: str) -> str:
    with (ROOT / "roles" / "_common" / "tasks" / "unit.yml").open(encoding="utf-8") as handle:
        task = next(t for t in yaml.safe_load(handle) if "ansible.builtin.template" in t)
    return _render(env, task["ansible.builtin.template"]["dest"], {"_common_unit": {"name": name}})


def test_roles_found():
    assert {r.name for r in ROLES} >= {"prometheus", "alertmanager", "otel_collector", "grafana", "loki", "otlp_gateway"}


@pytest.mark.parametrize("role", ROLES, ids=[r.name for r in ROLES])
def test_skipped_templates_are_looked_at(role):
    env = _environment([])
    register, looked = _look(role, env)
    checked = 0
    for task in _tasks(role):
        when = task.get("when")
        template = task.get("ansible.builtin.template")
        if not template or not isinstance(when, str) or not FOUND_CALL.search(when):
            continue
        assert FOUND_CALL.search(when).group(1) == register, f"{task['name']}: asks another look than {register}"
        calls = []
        _expression(_environment(calls), when, {})
        assert len(calls) == 1, f"{task['name']}: one file_differs call expected, found {len(calls)}"
        call = calls[0]
        dest = _render(env, template["dest"], {})
        assert call["path"] == dest, f"{task['name']}: file_differs asks about {call['path']}, the task writes {dest}"
        assert dest in looked, f"{task['name']}: {dest} is not among the files the look covers: {looked}"
        for field in ("owner", "group", "mode"):
            written = _render(env, template[field], {})
            assert call[field] == written, f"{task['name']}: file_differs compares {field} {call[field]}, the task sets {written}"
        assert call["content"] == ("lookup", "ansible.builtin.template", template["src"]), (
            f"{task['name']}: file_differs compares {call['content']}, the task writes template {template['src']}")
        checked += 1
    assert checked >= 1, f"{role.name}: no template task is skipped by its look"


@pytest.mark.parametrize("role", ROLES, ids=[r.name for r in ROLES])
def test_unit_is_looked_at(role):
    env = _environment([])
    register, looked = _look(role, env)
    include = next(t for t in _tasks(role)
                   if t.get("ansible.builtin.include_role", {}).get("tasks_from") == "unit")
    unit = _unit_path(env, include["vars"]["_common_unit"]["name"])
    assert unit in looked, f"{role.name}: _common writes {unit}, the look covers {looked}"
    assert include["vars"].get("_common_unit_found") == "{{ " + register + ".stdout_lines }}", (
        f"{role.name}: the unit include does not pass the look ({register}) as _common_unit_found")


LOOK_UNITS = re.compile(r"look_argv\(units=\[([^\]]*)\]\)")


@pytest.mark.parametrize("role", ROLES, ids=[r.name for r in ROLES])
def test_service_task_reads_its_unit_in_the_look(role):
    """The service task skips itself on a line "unit NAME enabled ..." of the look: the look must print
    that very unit (look_argv's units), and the task must ask the look it registered."""
    look = next(t for t in _tasks(role) if LOOK_NAME.match(t.get("name", "")))
    match = LOOK_UNITS.search(look["ansible.builtin.command"]["argv"])
    assert match, f"{role.name}: its look prints no unit (look_argv(units=[...]))"
    units = [u.strip().strip("'\"") for u in match.group(1).split(",")]
    with (role / "tasks" / "service.yml").open(encoding="utf-8") as handle:
        services = [t for t in yaml.safe_load(handle) if "ansible.builtin.systemd_service" in t]
    assert services, f"{role.name}: no systemd_service task in tasks/service.yml"
    role_vars = {}
    if (role / "vars" / "main.yml").exists():
        with (role / "vars" / "main.yml").open(encoding="utf-8") as handle:
            role_vars = yaml.safe_load(handle) or {}
    units = [role_vars.get(u, u) for u in units]  # a package's unit, named in vars/main.yml
    for task in services:
        name = task["ansible.builtin.systemd_service"]["name"]
        var = re.fullmatch(r"\{\{ (\w+) \}\}", name)
        when = task.get("when", "")
        when = " and ".join(when) if isinstance(when, list) else when
        if var:  # the package's own unit, stopped (masked or disabled) when the look did not find it so
            name = role_vars[var.group(1)]
            assert f"('unit ' ~ {var.group(1)} ~ ' " in when, (
                f"{role.name}: {task['name']} does not skip on its unit's line of the look: {when!r}")
        else:
            assert f"unit {name} enabled " in when or f"'unit {name} enabled active'" in when, (
                f"{role.name}: {task['name']} does not skip on its unit's line of the look: {when!r}")
        assert name in units, f"{role.name}: {task['name']} manages {name}, the look prints {units}"
        assert look["register"] + ".stdout_lines" in when, f"{role.name}: {task['name']} asks another look than {look['register']}"
