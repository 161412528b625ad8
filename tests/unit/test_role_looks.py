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

The files a role keeps in a directory of its own (rule files, dashboards, notification templates)
are looked at by pattern (look_argv's `listings`): a copy task skipped by the look must write into
one of these listings, and a task that removes the files no longer shipped must list them with
`found_files` and a pattern the look lists.
"""

from __future__ import annotations

import fnmatch
import pathlib
import posixpath
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

    def __getitem__(self, key):
        return _Symbol(name=f"{self._undefined_name}.{key}")


def _environment(calls: list) -> jinja2.Environment:
    env = jinja2.Environment(undefined=_Symbol)

    def file_differs(found, path, owner, group, mode, content=None, **options):
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


def _role_vars(role: pathlib.Path) -> dict:
    """vars/main.yml, or the files of vars/main/, as written."""
    role_vars = {}
    for path in [role / "vars" / "main.yml"] + sorted((role / "vars" / "main").glob("*.yml")):
        if path.exists():
            with path.open(encoding="utf-8") as handle:
                role_vars.update(yaml.safe_load(handle) or {})
    return role_vars


def _prefix(role: pathlib.Path) -> str:
    return "_" + role.name


def _look(role: pathlib.Path, env: jinja2.Environment):
    """The variable the role's tasks read the look from (_<role>_found) and the files it looks at, rendered."""
    variables = {}
    files = _expression(env, _role_vars(role)[_prefix(role) + "_look_files"], variables)
    return _prefix(role) + "_found", [str(f) for f in files]


def _look_arguments(role: pathlib.Path) -> dict:
    """The keyword arguments the role's look passes to look_argv, rendered (variables standing for themselves)."""
    env = _environment([])
    seen = {}

    def look_argv(paths, **kwargs):
        seen.update({key: [str(v) for v in value] for key, value in kwargs.items()})
        return []

    env.filters["telemetry.claude_code.look_argv"] = look_argv
    variables = _role_variables(role, env)
    variables[_prefix(role) + "_look_files"] = _expression(env, _role_vars(role)[_prefix(role) + "_look_files"], variables)
    _expression(env, _role_vars(role)[_prefix(role) + "_look_argv"], variables)
    return seen


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


def _role_variables(role: pathlib.Path, env: jinja2.Environment) -> dict:
    """The role's *_pattern variables (vars/main.yml), rendered."""
    return {name: env.from_string(value).render() for name, value in _role_vars(role).items()
            if name.endswith("_pattern") and isinstance(value, str)}


def _all_tasks(tasks):
    for task in tasks:
        yield task
        yield from _all_tasks(task.get("block", []))


@pytest.mark.parametrize("role", ROLES, ids=[r.name for r in ROLES])
def test_listed_files_are_looked_at(role):
    """A copy task skipped by the look writes into a directory the look lists by pattern; a task that
    removes the files no longer shipped lists them from the look with a pattern the look lists."""
    env = _environment([])
    register, looked = _look(role, env)
    listings = _look_arguments(role).get("listings", [])
    variables = _role_variables(role, env)
    for task in _all_tasks(_tasks(role)):
        when = task.get("when")
        copy = task.get("ansible.builtin.copy")
        if copy and isinstance(when, str) and FOUND_CALL.search(when):
            assert FOUND_CALL.search(when).group(1) == register, f"{task['name']}: asks another look than {register}"
            calls = []
            env_calls = _environment(calls)
            env_calls.filters["basename"] = lambda value: "<basename>"
            env_calls.globals["lookup"] = lambda plugin, src, **kwargs: ("lookup", plugin, str(src))
            item = _Symbol(name="item")
            _expression(env_calls, when, dict(variables, item=item))
            assert len(calls) == 1, f"{task['name']}: one file_differs call expected, found {len(calls)}"
            call = calls[0]
            dest = str(_render(env_calls, copy["dest"], dict(variables, item=item)))
            assert call["path"] == dest, f"{task['name']}: file_differs asks about {call['path']}, the task writes {dest}"
            in_listing = any(
                posixpath.dirname(dest) == posixpath.dirname(p)
                and (fnmatch.fnmatchcase(posixpath.basename(dest), posixpath.basename(p)) or "<" in posixpath.basename(dest))
                for p in listings)
            assert dest in looked or in_listing, f"{task['name']}: {dest} is neither looked at ({looked}) nor in a listing ({listings})"
            for field in ("owner", "group", "mode"):
                written = _render(env_calls, copy[field], dict(variables, item=item))
                assert call[field] == written, f"{task['name']}: file_differs compares {field} {call[field]}, the task sets {written}"
        loop = task.get("loop")
        if isinstance(loop, str) and "found_files" in loop:
            match = re.search(r"(_[a-z_]+_found)\.stdout_lines \| telemetry\.claude_code\.found_files\(([^)]*)\)", loop)
            assert match, f"{task['name']}: found_files is not read from a look's stdout_lines: {loop!r}"
            assert match.group(1) == register, f"{task['name']}: asks another look than {register}"
            pattern = str(_expression(env, match.group(2), variables))
            assert pattern in listings, f"{task['name']}: lists {pattern}, the look lists {listings}"
            assert task.get("ansible.builtin.file", {}).get("state") == "absent", f"{task['name']}: not a removal"


@pytest.mark.parametrize("role", ROLES, ids=[r.name for r in ROLES])
def test_no_separate_look(role):
    """Everything a role's configuration reads from the host comes from its one look: no find or stat task."""
    for path in (role / "tasks").glob("*.yml"):
        with path.open(encoding="utf-8") as handle:
            tasks = yaml.safe_load(handle) or []
        for task in _all_tasks(tasks):
            assert "ansible.builtin.find" not in task, f"{role.name}/{path.name}: {task['name']} looks on its own"


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


LOOK_UNITS = re.compile(r"look_argv\(units=\[([^\]]*)\]")


@pytest.mark.parametrize("role", ROLES, ids=[r.name for r in ROLES])
def test_service_task_reads_its_unit_in_the_look(role):
    """The service task skips itself on a line "unit NAME enabled ..." of the look: the look must print
    that very unit (look_argv's units), and the task must ask the look it registered."""
    found = _prefix(role) + "_found"
    role_vars = _role_vars(role)
    match = LOOK_UNITS.search(role_vars[_prefix(role) + "_look_argv"])
    assert match, f"{role.name}: its look prints no unit (look_argv(units=[...]))"
    units = [u.strip().strip("'\"") for u in match.group(1).split(",")]
    with (role / "tasks" / "service.yml").open(encoding="utf-8") as handle:
        services = [t for t in yaml.safe_load(handle) if "ansible.builtin.systemd_service" in t]
    assert services, f"{role.name}: no systemd_service task in tasks/service.yml"
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
        assert found + ".stdout_lines" in when, f"{role.name}: {task['name']} asks another look than {found}"


@pytest.mark.parametrize("role", ROLES, ids=[r.name for r in ROLES])
def test_runnable_reads_an_executable_the_look_checks(role):
    """A role that starts its service only when its binary can run (Loki, Grafana: *_skip_install) reads the
    look's line "executable PATH": the look must be asked about that very path, and run whatever the tags."""
    runnable = _role_vars(role).get(f"_{role.name}_runnable")
    if runnable is None:
        return
    match = re.search(r"\('executable ' ~ (\w+)\) in \((_[a-z_]+_found)\.stdout_lines", runnable)
    assert match, f"{role.name}: _{role.name}_runnable does not read an executable line of the look: {runnable!r}"
    look = next(t for t in _tasks(role) if LOOK_NAME.match(t.get("name", "")))
    assert match.group(2) == _prefix(role) + "_found", f"{role.name}: _{role.name}_runnable reads another look"
    assert _look_arguments(role).get("executables") == [f"<{match.group(1)}>"], (
        f"{role.name}: the look checks {_look_arguments(role).get('executables')}, the role reads {match.group(1)}")
    assert "always" in look.get("tags", []), f"{role.name}: the look is not tagged always"


@pytest.mark.parametrize("role", ROLES, ids=[r.name for r in ROLES])
def test_the_install_runs_the_look_and_the_role_looks_again_only_after_an_install(role):
    """The role hands its look to _common, which runs it in the install's call and keeps its lines with
    whether the install had anything to do; tasks/configure.yml runs the same look again only then (or when
    the install did not run), and the role's tasks read whichever is current through _<role>_found."""
    prefix = _prefix(role)
    with (role / "tasks" / "install.yml").open(encoding="utf-8") as handle:
        include = next(t for t in yaml.safe_load(handle)
                       if t.get("ansible.builtin.include_role", {}).get("name") == "telemetry.claude_code._common")
    assert include["vars"]["_common_look_argv"] == "{{ " + prefix + "_look_argv }}", f"{role.name}: install passes no look"
    assert include["vars"]["_common_look_var"] == prefix + "_found_at_install"
    look = next(t for t in _tasks(role) if LOOK_NAME.match(t.get("name", "")))
    assert _tasks(role)[0] is not None and look == _tasks(role)[0], f"{role.name}: the look is not the first task"
    assert look["ansible.builtin.command"]["argv"] == "{{ " + prefix + "_look_argv }}"
    assert look["register"] == prefix + "_relook"
    assert look["when"] == f"{prefix}_found_at_install is not defined or {prefix}_found_at_install.pending"
    assert look["failed_when"] == f"{prefix}_relook.rc not in [0, 1]"
    found = " ".join(_role_vars(role)[prefix + "_found"].split())
    assert found == (f"{{{{ {prefix}_relook if {prefix}_relook is defined and {prefix}_relook is not skipped "
                     f"else {prefix}_found_at_install | default({{'stdout_lines': []}}) }}}}"), found
    # Whatever task the role's tasks read the look in, none registers it under the name they read.
    for path in (role / "tasks").glob("*.yml"):
        with path.open(encoding="utf-8") as handle:
            for task in _all_tasks(yaml.safe_load(handle) or []):
                assert task.get("register") != prefix + "_found", f"{role.name}/{path.name}: {task['name']} registers it"
