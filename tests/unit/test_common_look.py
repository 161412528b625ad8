"""_common's one look at an install, run for real, and what its parsing makes of it.

`_common/tasks/main.yml` looks at the account, the package, the install directory, the binaries and
the links with one shell command; `_common/vars/main.yml` splits its stdout into sections and decides
whether `tasks/install.yml` has anything to do (`_common_pending`: the account, the package, or the
archive or binary steps of `tasks/files.yml`, `_common_install_pending`), which binaries to copy and
which links to make. A mistake there does not fail a run: a task that runs for nothing reports `ok`,
and a re-run is still `changed=0`, only slower (a trailing newline that Ansible strips from stdout
once made every link look different). So the command is rendered here from the task, run with `sh`
on a temporary install, its stdout stripped as the command module strips it, and the variables are
evaluated from vars/main.yml in order, with the collection's own file_differs filter.
"""

from __future__ import annotations

import grp
import hashlib
import os
import pathlib
import pwd
import shlex
import subprocess

import pytest
import yaml
from jinja2.nativetypes import NativeEnvironment
from ansible_collections.telemetry.claude_code.plugins.filter.file_differs import file_differs
from ansible_collections.telemetry.claude_code.plugins.filter.look_argv import look_argv

ROOT = pathlib.Path(__file__).resolve().parents[2]
COMMON = ROOT / "roles" / "_common"

pytestmark = pytest.mark.skipif(os.getuid() != 0, reason="the install is owned by root, as on a host")


def _yaml(path):
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _environment():
    env = NativeEnvironment()
    env.filters["quote"] = lambda value: shlex.quote(str(value))
    env.filters["split"] = lambda value, sep=None: str(value).split(sep)  # ansible.builtin.split
    env.filters["telemetry.claude_code.file_differs"] = file_differs

    def lookup(plugin, term):
        assert plugin == "ansible.builtin.pipe", plugin
        return subprocess.run(["sh", "-c", term], capture_output=True, text=True, check=False).stdout.rstrip("\n")

    env.globals["lookup"] = lookup
    return env


def _evaluate(env, values, names=None):
    """vars/main.yml in its order (each variable reads only those above it), or only the names given."""
    for name, text in _yaml(COMMON / "vars" / "main.yml").items():
        if name.startswith("_common_firewall") or (names is not None and name not in names):
            continue
        values[name] = env.from_string(text).render(**values) if isinstance(text, str) else text
    return values


def _look(variables):
    """Run the look of tasks/main.yml and evaluate vars/main.yml on its output, as Ansible would."""
    env = _environment()
    task = next(t for t in _yaml(COMMON / "tasks" / "main.yml") if t["name"].startswith("Look up the system account"))
    script = env.from_string(task["ansible.builtin.shell"]).render(
        **_evaluate(env, dict(variables), names=("_common_dir", "_common_installed_paths", "_common_look_marker")))
    proc = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    values = dict(variables, _common_accounts={"stdout": proc.stdout.rstrip("\r\n")})  # the command module strips it
    return _evaluate(env, values)


@pytest.fixture(name="install")
def fixture_install(tmp_path):
    controller = tmp_path / "controller" / "demo"
    controller.parent.mkdir()
    controller.write_bytes(b"\x7fELF demo 1.0\n")
    variables = dict(_yaml(COMMON / "defaults" / "main.yml"))
    variables.update(
        _common_name="demo", _common_version="1.0", _common_method="binary", _common_package="tcc-no-such-package",
        _common_binaries=[{"name": "demo", "src": str(controller)}],
        _common_system_user=pwd.getpwuid(0).pw_name, _common_system_group=grp.getgrgid(0).gr_name,
        _common_install_root=str(tmp_path / "opt"), _common_bin_dir=str(tmp_path / "bin"),
    )
    return variables, tmp_path, controller


def _put_in_place(tmp_path, controller, path="demo"):
    """What tasks/files.yml makes: the directory (0755), the binary (0755), the link."""
    directory = tmp_path / "opt" / "demo-1.0"
    binary = directory / path
    binary.parent.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o755)
    binary.write_bytes(controller.read_bytes())
    binary.chmod(0o755)
    (tmp_path / "bin").mkdir(exist_ok=True)
    (tmp_path / "bin" / "demo").symlink_to(binary)
    return binary


def test_nothing_in_place_is_pending(install):
    variables = install[0]
    values = _look(variables)
    assert values["_common_install_pending"] is True
    assert values["_common_dir_differs"] is True
    assert [b["name"] for b in values["_common_binaries_to_copy"]] == ["demo"]
    assert [b["name"] for b in values["_common_links_to_make"]] == ["demo"]


def test_an_install_in_place_has_nothing_pending(install):
    variables, tmp_path, controller = install
    binary = _put_in_place(tmp_path, controller)
    values = _look(variables)
    assert values["_common_found_links"] == [str(binary)]
    assert values["_common_found_group"][0] == variables["_common_system_group"]
    assert values["_common_found_package_status"] == ""
    assert values["_common_binaries_to_copy"] == []
    assert values["_common_links_to_make"] == []
    assert values["_common_install_pending"] is False


@pytest.mark.parametrize("drift", ["link removed", "link elsewhere", "binary replaced", "binary mode", "directory mode"])
def test_every_drift_is_pending(install, drift):
    variables, tmp_path, controller = install
    binary = _put_in_place(tmp_path, controller)
    link = tmp_path / "bin" / "demo"
    if drift == "link removed":
        link.unlink()
    elif drift == "link elsewhere":
        link.unlink()
        link.symlink_to(controller)
    elif drift == "binary replaced":
        binary.write_bytes(b"\x7fELF demo 0.9\n")
    elif drift == "binary mode":
        binary.chmod(0o775)
    elif drift == "directory mode":
        binary.parent.chmod(0o700)
    values = _look(variables)
    assert values["_common_install_pending"] is True
    if drift.startswith("link"):
        assert [b["name"] for b in values["_common_links_to_make"]] == ["demo"]
        assert values["_common_binaries_to_copy"] == []
    if drift.startswith("binary"):
        assert [b["name"] for b in values["_common_binaries_to_copy"]] == ["demo"]
        assert values["_common_links_to_make"] == []


def test_an_unpacked_archive_is_installed(install):
    variables, tmp_path, controller = install
    variables.update(_common_method="archive", _common_binaries=[{"name": "demo", "path": "bin/demo"}])
    assert _look(variables)["_common_installed"] is False
    _put_in_place(tmp_path, controller, path="bin/demo")
    values = _look(variables)
    assert values["_common_installed"] is True
    assert values["_common_binaries_to_copy"] == []  # only the binary method copies
    assert values["_common_install_pending"] is False
    assert hashlib.sha1(controller.read_bytes()).hexdigest()  # the controller's file is untouched


@pytest.mark.parametrize("method", ["package", "none"])
def test_the_other_methods_never_include_the_files(install, method):
    variables = install[0]
    variables.update(_common_method=method)
    assert _look(variables)["_common_install_pending"] is False


def _nologin_account():
    """A system account as _common makes one (shell /usr/sbin/nologin), its primary group by name."""
    for entry in pwd.getpwall():
        if entry.pw_shell == "/usr/sbin/nologin":
            try:
                return entry, grp.getgrgid(entry.pw_gid).gr_name
            except KeyError:
                continue
    pytest.skip("no account with the shell /usr/sbin/nologin here")
    return None


@pytest.mark.parametrize("method", ["binary", "package", "none"])
def test_an_account_and_install_in_place_skip_the_include(install, method):
    """tasks/install.yml is skipped as a whole when the account is as the user task would make it, the
    package installed (none here: the package method always has it pending) and the files in place."""
    variables, tmp_path, controller = install
    account, group = _nologin_account()
    variables.update(_common_method=method, _common_system_user=account.pw_name, _common_system_group=group,
                     _common_user_home=account.pw_dir)
    _put_in_place(tmp_path, controller)
    values = _look(variables)
    assert values["_common_group_differs"] is False
    assert values["_common_user_differs"] is False
    assert values["_common_package_pending"] is (method == "package")
    assert values["_common_pending"] is (method == "package")


@pytest.mark.parametrize("drift", ["home", "shell", "group", "no group", "no user"])
def test_an_account_drift_includes_the_file(install, drift):
    variables, tmp_path, controller = install
    account, group = _nologin_account()
    variables.update(_common_method="none", _common_system_user=account.pw_name, _common_system_group=group,
                     _common_user_home=account.pw_dir)
    if drift == "home":
        variables["_common_user_home"] = "/nonexistent-home"
    elif drift == "shell":
        variables.update(_common_system_user=pwd.getpwuid(0).pw_name, _common_system_group=grp.getgrgid(0).gr_name,
                         _common_user_home=pwd.getpwuid(0).pw_dir)  # root's shell is not nologin
    elif drift == "group":
        variables["_common_system_group"] = grp.getgrgid(0).gr_name if group != grp.getgrgid(0).gr_name else "daemon"
    elif drift == "no group":
        variables["_common_system_group"] = "tcc-no-such-group"
    elif drift == "no user":
        variables["_common_system_user"] = "tcc-no-such-user"
    values = _look(variables)
    assert values["_common_user_differs"] is True
    assert values["_common_group_differs"] is (drift == "no group")
    assert values["_common_pending"] is True


# The calling role's look runs in the same call (_common_look_argv), after every section of the install's:
# its lines come out as the look alone would print them, and the install's sections are read as before.
def test_the_calling_role_look_in_the_same_call(install):
    variables, tmp_path, controller = install
    binary = _put_in_place(tmp_path, controller)
    config = tmp_path / "etc" / "demo.yml"
    config.parent.mkdir()
    config.write_text("--- a: 1\n---\n", encoding="utf-8")  # '---' in a file's content or name changes nothing
    paths = [str(config.parent), str(config), str(tmp_path / "etc" / "missing---.yml")]
    argv = look_argv(paths, listings=[str(tmp_path / "opt" / "demo-1.0") + "/*"], executables=[str(binary)])
    alone = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert alone.returncode == 1  # the missing path
    variables.update(_common_look_argv=argv, _common_look_var="_demo_found_at_install")
    values = _look(variables)
    assert values["_common_found_caller"] == alone.stdout.splitlines()
    assert values["_common_found_links"] == [str(binary)]
    assert values["_common_found_group"][0] == variables["_common_system_group"]
    assert values["_common_install_pending"] is False
    assert "executable " + str(binary) in values["_common_found_caller"]
    assert not file_differs(values["_common_found_caller"], str(config), "root", "root", "0644", "--- a: 1\n---\n")


def test_a_failing_calling_role_look_fails_the_call(install):
    variables = install[0]
    variables.update(_common_look_argv=["sh", "-c", "echo half; exit 2"], _common_look_var="_demo_found_at_install")
    env = _environment()
    task = next(t for t in _yaml(COMMON / "tasks" / "main.yml") if t["name"].startswith("Look up the system account"))
    script = env.from_string(task["ansible.builtin.shell"]).render(
        **_evaluate(env, dict(variables), names=("_common_dir", "_common_installed_paths", "_common_look_marker")))
    proc = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=False)
    assert proc.returncode == 2
