# -*- coding: utf-8 -*-
# Copyright: telemetry.claude_code developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""file_differs: a re-run skips only what a copy or file task would leave as it is, and every drift is caught.

The find entries are what ansible.builtin.find returns for real files (made here in tmp_path and looked at by
the find module's own statinfo), the stat lines what `stat --printf` prints for them.
"""

from __future__ import annotations

import grp
import hashlib
import os
import pwd
import subprocess

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.telemetry.claude_code.plugins.filter.file_differs import file_differs
from ansible_collections.telemetry.claude_code.plugins.filter.file_found import file_found
from ansible_collections.telemetry.claude_code.plugins.filter.found_files import found_files
from ansible_collections.telemetry.claude_code.plugins.filter.look_argv import look_argv

OWNER = pwd.getpwuid(os.getuid()).pw_name
GROUP = grp.getgrgid(os.getgid()).gr_name
TEXT = "groups:\n  - name: ünïcode\n"


def _find_entry(path, checksum=True):
    st = os.stat(path)
    entry = {"path": str(path), "mode": "%04o" % (st.st_mode & 0o7777), "isdir": os.path.isdir(path),
             "isreg": os.path.isfile(path), "pw_name": OWNER, "gr_name": GROUP}
    if checksum and os.path.isfile(path):
        entry["checksum"] = hashlib.sha1(open(path, "rb").read()).hexdigest()
    return entry


@pytest.fixture(name="rules")
def fixture_rules(tmp_path):
    path = tmp_path / "claude_code_alerts.yml"
    path.write_text(TEXT, encoding="utf-8")
    path.chmod(0o640)
    return path


def test_file_in_place_is_skipped(rules):
    assert not file_differs([_find_entry(rules)], str(rules), OWNER, GROUP, "0640", TEXT)


@pytest.mark.parametrize("change", ["content", "mode", "owner", "group", "missing", "no_checksum", "a_directory"])
def test_every_drift_makes_the_task_run(rules, change):
    entry = _find_entry(rules)
    args = [str(rules), OWNER, GROUP, "0640", TEXT]
    if change == "content":
        args[4] = TEXT + "# edited\n"
    elif change == "mode":
        rules.chmod(0o644)
        entry = _find_entry(rules)
    elif change == "owner":
        entry["pw_name"] = "someone-else"
    elif change == "group":
        entry["gr_name"] = "other-group"
    elif change == "missing":
        entry["path"] = str(rules) + ".old"
    elif change == "no_checksum":
        del entry["checksum"]
    elif change == "a_directory":
        entry.update(isdir=True, isreg=False)
    assert file_differs([entry], *args)


def test_directories_from_one_stat_call(tmp_path):
    a, b = tmp_path / "config", tmp_path / "data"
    a.mkdir(mode=0o750)
    a.chmod(0o750)
    missing = tmp_path / "queue"
    proc = subprocess.run(["stat", "--printf", "%n\t%a\t%U\t%G\t%F\n", "--", str(a), str(b), str(missing)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 1  # what the roles' failed_when accepts: some are missing
    lines = proc.stdout.splitlines()
    assert not file_differs(lines, str(a), OWNER, GROUP, "0750")
    assert file_differs(lines, str(a), OWNER, GROUP, "0755")        # mode drift
    assert file_differs(lines, str(a), "nobody", GROUP, "0750")     # owner drift
    assert file_differs(lines, str(missing), OWNER, GROUP, "0750")  # not there yet
    b.write_text("x", encoding="utf-8")
    lines = subprocess.run(["stat", "--printf", "%n\t%a\t%U\t%G\t%F\n", "--", str(b)], capture_output=True,
                           text=True, check=True).stdout.splitlines()
    assert file_differs(lines, str(b), OWNER, GROUP, "%04o" % (os.stat(b).st_mode & 0o7777))  # a file, not a directory


def test_bad_input_is_an_error():
    with pytest.raises(AnsibleFilterError):
        file_differs("not a list", "/x", "root", "root", "0640")
    with pytest.raises(AnsibleFilterError):
        file_differs(["only two\tfields"], "/x", "root", "root", "0640")
    with pytest.raises(AnsibleFilterError):
        file_differs([{"path": "/x", "pw_name": "root", "gr_name": "root", "mode": "0640"}], "/x", "root", "root",
                     "rw-r-----")


# What the roles run to look at their directories and files with one call (tasks/configure.yml).
def _look(*paths):
    proc = subprocess.run(look_argv([str(p) for p in paths]), capture_output=True, text=True, check=False)
    assert proc.returncode in (0, 1), proc.stderr  # 1: a directory or a missing path among them
    return proc.stdout.splitlines()


def test_files_and_directories_from_one_look(tmp_path, rules):
    config = tmp_path / "config"
    config.mkdir()
    config.chmod(0o750)
    unit = tmp_path / "otelcol.service"
    lines = _look(config, rules, unit)
    assert not file_differs(lines, str(config), OWNER, GROUP, "0750")
    assert not file_differs(lines, str(rules), OWNER, GROUP, "0640", TEXT)            # a template already in place
    assert file_differs(lines, str(rules), OWNER, GROUP, "0640", TEXT + "# new\n")    # its rendering changed
    assert file_differs(lines, str(rules), OWNER, GROUP, "0644", TEXT)                # its mode drifted
    assert file_differs(lines, str(unit), OWNER, GROUP, "0644", "[Unit]\n")          # not there yet
    rules.write_text(TEXT + "# edited on the host\n", encoding="utf-8")
    assert file_differs(_look(config, rules), str(rules), OWNER, GROUP, "0640", TEXT)  # edited in place


def test_a_file_without_its_checksum_line_differs(rules):
    stat_only = subprocess.run(["stat", "--printf", "%n\t%a\t%U\t%G\t%F\n", "--", str(rules)], capture_output=True,
                               text=True, check=True).stdout.splitlines()
    assert file_differs(stat_only, str(rules), OWNER, GROUP, "0640", TEXT)
    with pytest.raises(AnsibleFilterError):
        file_differs(stat_only + ["not a checksum line"], str(rules), OWNER, GROUP, "0640", TEXT)


def test_look_argv_takes_absolute_paths_only():
    assert look_argv(["/etc/a", "/etc/b"])[:2] == ["sh", "-c"]
    assert look_argv(["/etc/a", "/etc/b"])[3:] == ["look", "", "", "", "", "/etc/a", "/etc/b"]
    assert look_argv(["/etc/a"], units=["a", "b@1.service"])[3:] == ["look", "a b@1.service", "", "", "", "/etc/a"]
    assert look_argv(["/etc/a"], listings=["/etc/r//*.yml", "/etc/d/x?"], executables=["/bin/a", "/bin/b"],
                     versions=["/bin/a"])[3:] == ["look", "", "/etc/r\t*.yml\n/etc/d\tx?", "/bin/a\n/bin/b", "/bin/a", "/etc/a"]
    for bad in (["etc/*.yml"], ["/etc/*/a.yml"], ["/etc/"], ["/etc/a\nb/*"], "/etc/*.yml"):
        with pytest.raises(AnsibleFilterError, match="listing"):
            look_argv(["/etc/a"], listings=bad)
    for option in ("executables", "versions"):
        for bad in (["bin/a"], ["/bin/a\tb"], "/bin/a", [None]):
            with pytest.raises(AnsibleFilterError, match=option):
                look_argv(["/etc/a"], **{option: bad})
    for bad in ("a", ["a b"], ["a;b"], [None]):
        with pytest.raises(AnsibleFilterError, match="unit names"):
            look_argv(["/etc/a"], units=bad)
    for bad in (["etc/a"], "/etc/a", [None], ["-rf"], []):
        with pytest.raises(AnsibleFilterError, match="absolute paths"):
            look_argv(bad)


# The same call also tells the state of the roles' services (tasks/service.yml skips the systemd
# call when its unit is enabled and active): a systemctl stand-in answers as systemd would for a
# running unit, a masked one and one it does not know (nothing on stdout for is-enabled).
def test_units_from_the_same_look(tmp_path, rules, monkeypatch):
    fake = tmp_path / "bin"
    fake.mkdir()
    systemctl = fake / "systemctl"
    systemctl.write_text("""#!/bin/sh
case "$1 $3" in
  "is-enabled otelcol") echo enabled ;;
  "is-active otelcol") echo active ;;
  "is-enabled haproxy") echo masked ;;
  "is-active haproxy") echo inactive; exit 3 ;;
  "is-enabled "*) echo "Failed to get unit file state for $3: No such file or directory" >&2; exit 1 ;;
  *) echo inactive; exit 3 ;;
esac
""", encoding="utf-8")
    systemctl.chmod(0o755)
    monkeypatch.setenv("PATH", "%s:%s" % (fake, os.environ["PATH"]))
    proc = subprocess.run(look_argv([str(rules), str(tmp_path / "missing")], units=["otelcol", "haproxy", "nope"]),
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 1  # the missing path, as without units
    lines = proc.stdout.splitlines()
    assert lines[-3:] == ["unit otelcol enabled active", "unit haproxy masked inactive", "unit nope  inactive"]
    assert not file_differs(lines, str(rules), OWNER, GROUP, "0640", TEXT)  # the unit lines are not files
    assert file_differs(lines, str(tmp_path / "missing"), OWNER, GROUP, "0640", TEXT)


# A binary the controller holds (the _common role's `binary` method): its checksum stands for the content.
def test_a_file_compared_with_a_checksum(tmp_path, rules):
    lines = _look(rules)
    digest = hashlib.sha1(rules.read_bytes()).hexdigest()
    assert not file_differs(lines, str(rules), OWNER, GROUP, "0640", checksum=digest)
    assert not file_differs(lines, str(rules), OWNER, GROUP, "0640", checksum=digest.upper() + "\n")
    assert file_differs(lines, str(rules), OWNER, GROUP, "0640", checksum="0" * 40)     # another build
    assert file_differs(lines, str(rules), OWNER, GROUP, "0640", checksum="")           # none could be had
    assert file_differs(lines, str(rules), OWNER, GROUP, "0755", checksum=digest)       # its mode drifted
    assert file_differs(_look(tmp_path), str(rules), OWNER, GROUP, "0640", checksum=digest)  # not there


# A file a task never replaces in place (copy with force: false, such as Grafana's secret key): only its owner, group
# and mode are compared, and a directory in its place still differs.
def test_a_file_whose_content_is_kept(tmp_path, rules):
    lines = _look(rules, tmp_path)
    assert not file_differs(lines, str(rules), OWNER, GROUP, "0640", keep_content=True)
    assert not file_differs(lines, str(rules), OWNER, GROUP, "640", keep_content=True)
    assert file_differs(lines, str(rules), OWNER, GROUP, "0600", keep_content=True)           # its mode drifted
    assert file_differs(lines, str(rules), "someone-else", GROUP, "0640", keep_content=True)  # its owner drifted
    assert file_differs(lines, str(tmp_path / "missing"), OWNER, GROUP, "0640", keep_content=True)
    mode = "%04o" % (os.stat(tmp_path).st_mode & 0o7777)
    assert file_differs(lines, str(tmp_path), OWNER, GROUP, mode, keep_content=True)  # a directory, not a file


# A task that removes a file calls the host only when the look found it (the gateway's TLS PEM, Loki's GCS key).
def test_file_found_for_a_removal(tmp_path, rules):
    config = tmp_path / "config"
    config.mkdir()
    lines = _look(rules, config, tmp_path / "gcs.json")
    assert file_found(lines, str(rules))
    assert file_found(lines, str(config))
    assert not file_found(lines, str(tmp_path / "gcs.json"))
    assert not file_found(lines, str(rules)[:-1])          # a path, not a prefix
    assert not file_found(lines + ["unit %s enabled active" % rules], str(rules) + " enabled")
    assert file_found([_find_entry(rules)], str(rules))   # a find result too
    with pytest.raises(AnsibleFilterError, match="file_found expects"):
        file_found("not a list", str(rules))
    with pytest.raises(AnsibleFilterError, match="file_found expects"):
        file_found(["not a stat line"], str(rules))


# The files a role keeps in a directory of its own (rule files, dashboards) are looked at in the same call,
# by pattern: only regular files of that directory whose names match, hidden files and links left out
# as ansible.builtin.find leaves them out; found_files lists them, file_differs compares them.
def test_listings_in_the_same_look(tmp_path, rules):
    rules_dir = tmp_path / "rules"
    (rules_dir / "sub").mkdir(parents=True)
    for name in ("claude_code_a.yml", "claude_code_b.yml", "other.yml", ".claude_code_hidden.yml", "sub/claude_code_c.yml"):
        (rules_dir / name).write_text(TEXT, encoding="utf-8")
        (rules_dir / name).chmod(0o640)
    (rules_dir / "claude_code_link.yml").symlink_to(rules_dir / "other.yml")
    (rules_dir / "claude_code_dir.yml").mkdir()
    pattern = str(rules_dir) + "/claude_code_*.yml"
    proc = subprocess.run(look_argv([str(rules)], listings=[pattern, str(tmp_path / "missing") + "/*"]),
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr  # a missing listed directory is no error
    lines = proc.stdout.splitlines()
    wanted = [str(rules_dir / "claude_code_a.yml"), str(rules_dir / "claude_code_b.yml")]
    assert sorted(found_files(lines, pattern)) == wanted
    assert found_files(lines, str(rules_dir) + "/*.json") == []
    assert found_files(lines, str(tmp_path) + "/*") == [str(rules)]  # an explicit path is a file of its directory too
    for path in wanted:
        assert not file_differs(lines, path, OWNER, GROUP, "0640", TEXT)
        assert file_differs(lines, path, OWNER, GROUP, "0640", TEXT + "# edited\n")
    assert file_differs(lines, str(rules_dir / "other.yml"), OWNER, GROUP, "0640", TEXT)  # not in the listing
    assert not file_differs(lines, str(rules), OWNER, GROUP, "0640", TEXT)
    finds = [_find_entry(rules_dir / "claude_code_a.yml"), _find_entry(rules_dir / "sub")]  # a find result works too
    assert found_files(finds, pattern) == [wanted[0]]
    with pytest.raises(AnsibleFilterError, match="absolute"):
        found_files(lines, "claude_code_*.yml")


# The binary a role starts only when it can run (Loki, Grafana), and the version of the installed one
# (Prometheus), from the same call: --version runs with its standard input closed.
def test_executables_and_versions_in_the_same_look(tmp_path, rules):
    program = tmp_path / "prog"
    program.write_text("#!/bin/sh\ncat\necho 'prog, version 2.53.3 (branch: x)'\necho '  go version: go1.22' >&2\n",
                       encoding="utf-8")
    program.chmod(0o755)
    plain = tmp_path / "plain"
    plain.write_text("", encoding="utf-8")
    plain.chmod(0o644)
    link = tmp_path / "link"
    link.symlink_to(program)
    paths = [str(program), str(plain), str(link), str(tmp_path), str(tmp_path / "missing")]
    proc = subprocess.run(look_argv([str(rules)], executables=paths, versions=paths), capture_output=True, text=True,
                          check=False, timeout=30, stdin=subprocess.PIPE)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert [line for line in lines if line.startswith("executable ")] == ["executable " + str(program),
                                                                          "executable " + str(link)]
    versions = [line for line in lines if line.startswith("version ")]
    assert versions[0].startswith("version %s prog, version 2.53.3 (branch: x) " % program)
    assert "go version: go1.22" in versions[0]
    assert [v.split(" ")[1] for v in versions] == [str(program), str(link)]
    assert not file_differs(lines, str(rules), OWNER, GROUP, "0640", TEXT)  # these lines are not files
    assert not file_found(lines, str(program))
