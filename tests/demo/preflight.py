"""Where each component of the demo stack comes from, decided on the controller before deploying.

`tests/harness.sh deploy` runs this before it creates the demo container and runs
playbooks/site.yml, so that a release that cannot be had stops the run in seconds, with the
list of what is missing and the one variable that supplies each, instead of failing after a
long converge.

It reads the roles themselves, not a copy of their layout: the `vars:` of each role's
`include_role: telemetry.claude_code._common` task in tasks/install.yml (archive URL, checksum
URL, local directory, binaries), rendered with Jinja2 from the role's defaults and vars, under
the demo's and the person's variables. For every component installed from a release archive
(the roles' default) it looks, in the order the _common role uses them, at:

1. the local directory the person named (`<role>_archive_local_dir`): the archive and its
   checksum file must be there, and the archive must match its sha256;
2. the controller-side release cache (`$TCC_CACHE/releases/<name>/<version>/`), where the
   _common role keeps what it downloaded once, and where it looks before downloading;
3. the download URLs: the checksum file and the archive must answer.

When none has it:

* Prometheus, Alertmanager: the distribution package (`<role>_install_method: package`), a
  real Prometheus and Alertmanager from the host's Debian release (Debian 13: 2.53.3 and
  0.28.1), not the pinned release. Printed, and written into the demo's variables.
* The collector: a build of the same version from Go modules with the official builder
  (tests/otelcol/build.sh), installed with `otel_collector_install_method: binary`.
* Grafana and Loki: nothing else is a Grafana or a Loki. The run stops and says what is
  missing, where to get it, and the variable that supplies it; unless `--without` names them,
  which skips their binary install (`<role>_skip_install`, documented by both roles) and
  says loudly that they do not run.

Output: the decisions as a YAML mapping of variables (``--vars-out``), and a report on stdout.
Exit status 0 when every component has a source, 3 when something is missing, 2 on a usage
or configuration error.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import pathlib
import platform
import shlex
import socket
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping

import jinja2
import yaml

# The components in the order site.yml deploys them, with what replaces an archive that
# cannot be had: 'package', 'build' or None (nothing: the run stops).
COMPONENTS = (
    ("otel_collector", "OpenTelemetry Collector", "build"),
    ("alertmanager", "Alertmanager", "package"),
    ("loki", "Loki", None),
    ("prometheus", "Prometheus", "package"),
    ("grafana", "Grafana", None),
)
# Only these two have a documented way to skip the binary install (`<role>_skip_install`).
SKIPPABLE = ("grafana", "loki")
# Where a person gets the releases by hand (release pages; the archive URLs are printed too).
RELEASE_PAGES = {
    "loki": "https://github.com/grafana/loki/releases/tag/v{version}",
    "grafana": "https://grafana.com/grafana/download/{version}?edition=oss",
    "prometheus": "https://github.com/prometheus/prometheus/releases/tag/v{version}",
    "alertmanager": "https://github.com/prometheus/alertmanager/releases/tag/v{version}",
    "otel_collector": "https://github.com/open-telemetry/opentelemetry-collector-releases/releases/tag/v{version}",
}
# ansible_facts['architecture'] for the machine this runs on (the demo container shares it).
DOWNLOAD_TIMEOUT = 15


class PreflightError(Exception):
    """The roles or the variables cannot be read (not a missing release)."""


# --- reading the roles ----------------------------------------------------------------


def _load_yaml(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle) or {}


def role_vars(role_dir):
    """(defaults, vars) of a role: defaults/main.yml, and vars/main.yml or vars/main/*.yml."""
    defaults = _load_yaml(role_dir / "defaults" / "main.yml")
    variables = {}
    single = role_dir / "vars" / "main.yml"
    if single.is_file():
        variables.update(_load_yaml(single))
    for path in sorted((role_dir / "vars" / "main").glob("*.yml")) if (role_dir / "vars" / "main").is_dir() else []:
        variables.update(_load_yaml(path))
    return defaults, variables


def install_task(role_dir):
    """The role's `include_role: telemetry.claude_code._common` task of tasks/install.yml."""
    for task in _load_yaml(role_dir / "tasks" / "install.yml") or []:
        include = task.get("ansible.builtin.include_role") or task.get("include_role")
        if isinstance(include, dict) and include.get("name") == "telemetry.claude_code._common":
            return task
    raise PreflightError("%s: no include_role of telemetry.claude_code._common in tasks/install.yml" % role_dir.name)


def _to_bool(value):
    """Ansible's `bool` filter: yes/true/on/1 are true, whatever their case."""
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("yes", "y", "true", "t", "on", "1")


class Scope(Mapping):
    """Variables by precedence (first layer wins), rendered with Jinja2 only when read.

    Only what a needed value refers to is rendered, so the many role variables built with
    Ansible-only lookups and filters are never touched.
    """

    def __init__(self, env, layers):
        self._env = env
        self._layers = layers
        self._done = {}
        self._busy = set()

    def raw(self, key):
        for layer in self._layers:
            if key in layer:
                return layer[key]
        raise KeyError(key)

    def __getitem__(self, key):
        if key in self._done:
            return self._done[key]
        value = self.raw(key)
        if key in self._busy:
            raise PreflightError("variable %s refers to itself" % key)
        self._busy.add(key)
        try:
            value = self.render(value)
        finally:
            self._busy.discard(key)
        self._done[key] = value
        return value

    def __iter__(self):
        seen = set()
        for layer in self._layers:
            for key in layer:
                if key not in seen:
                    seen.add(key)
                    yield key

    def __len__(self):
        return len(set().union(*[set(layer) for layer in self._layers]))

    def render(self, value):
        if isinstance(value, dict):
            return dict((k, self.render(v)) for k, v in value.items())
        if isinstance(value, list):
            return [self.render(v) for v in value]
        if not isinstance(value, str) or ("{{" not in value and "{%" not in value):
            return value
        try:
            template = self._env.from_string(value)
            return "".join(template.root_render_func(template.new_context(self, shared=True))).strip()
        except jinja2.TemplateError as exc:
            raise PreflightError("cannot render %r: %s" % (value, exc)) from exc


def _environment():
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=False)
    env.filters["bool"] = _to_bool
    env.filters["basename"] = os.path.basename
    env.filters["dirname"] = os.path.dirname
    return env


def component(root, role, overrides, arch):
    """What the role would install: a dict read from its install task, rendered."""
    role_dir = root / "roles" / role
    defaults, variables = role_vars(role_dir)
    task = install_task(role_dir)
    facts = {"ansible_facts": {"architecture": arch, "os_family": "Debian"}}
    # Ansible's order, reduced to what matters here: extra vars (the person's -e, and the
    # demo's own settings) over include_role vars over role vars over role defaults.
    scope = Scope(_environment(), [overrides, task.get("vars") or {}, variables, defaults, facts])
    info = {
        "role": role,
        "name": scope["_common_name"],
        "method": scope["_common_method"],
        "version": str(scope["_common_version"]),
        "archive_url": scope["_common_archive_url"],
        "checksums_url": scope["_common_checksums_url"],
        "local_dir": scope["_common_local_dir"] or "",
        "binaries": scope["_common_binaries"] if "_common_binaries" in scope else [],
        "skip": _to_bool(scope[role + "_skip_install"]) if role + "_skip_install" in scope else False,
        "install_method_var": role + "_install_method",
        "local_dir_var": role + "_archive_local_dir",
    }
    info["archive_name"] = os.path.basename(urllib.parse.urlsplit(info["archive_url"]).path)
    info["checksums_name"] = os.path.basename(urllib.parse.urlsplit(info["checksums_url"]).path)
    return info


# --- looking for the files ------------------------------------------------------------


def sha256_from_checksums(text, archive_name):
    """The sha256 of archive_name in a checksum file, the way the _common role reads it.

    Lines of ``<sha256>  <file>`` (sha256sum format, the file possibly prefixed with ``*`` or
    ``./``), or a single bare hash (Grafana's ``.sha256`` files). None when absent.
    """
    lines = [line.split() for line in text.splitlines() if line.strip()]
    for parts in lines:
        if len(parts) >= 2 and parts[1] in (archive_name, "*" + archive_name, "./" + archive_name):
            return parts[0].lower()
    bare = [parts[0].lower() for parts in lines if len(parts) == 1]
    return bare[0] if bare else None


def file_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_dir(directory, info):
    """None when the directory holds the archive and a checksum file it matches, else why not."""
    directory = pathlib.Path(directory).expanduser()
    if not directory.is_dir():
        return "%s is not a directory" % directory
    missing = [n for n in (info["archive_name"], info["checksums_name"]) if not (directory / n).is_file()]
    if missing:
        return "%s has no %s" % (directory, " and no ".join(missing))
    expected = sha256_from_checksums((directory / info["checksums_name"]).read_text(encoding="utf-8", errors="replace"),
                                     info["archive_name"])
    if not expected:
        return "%s names no sha256 for %s" % (directory / info["checksums_name"], info["archive_name"])
    actual = file_sha256(directory / info["archive_name"])
    if actual != expected:
        return "%s has sha256 %s, but %s says %s" % (directory / info["archive_name"], actual,
                                                     info["checksums_name"], expected)
    return None


def _reason(exc):
    """A short, plain reason for a failed download."""
    if isinstance(exc, urllib.error.HTTPError):
        return "HTTP %s %s" % (exc.code, exc.reason)
    reason = getattr(exc, "reason", exc)
    if isinstance(reason, socket.gaierror):
        return "cannot resolve the host name (no DNS or no internet access from this machine)"
    if isinstance(reason, (socket.timeout, TimeoutError)):
        return "no answer within %d s" % DOWNLOAD_TIMEOUT
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    return str(reason) or exc.__class__.__name__


def try_url(url):
    """None when the URL answers a HEAD (or a one-byte GET) with success, else why not."""
    for method, headers in (("HEAD", {}), ("GET", {"Range": "bytes=0-0"})):
        request = urllib.request.Request(url, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT) as response:  # nosec: the roles' own URLs
                if response.status < 400:
                    return None
        except urllib.error.HTTPError as exc:
            if method == "HEAD" and exc.code in (403, 405, 501):
                continue  # some servers refuse HEAD only; ask for one byte instead
            return _reason(exc)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            return _reason(exc)
    return "no success status"


def locate(info, cache_dir, fetch=try_url):
    """(source, detail, tried): where an archive-method component comes from, or source None."""
    tried = []
    if info["local_dir"]:
        problem = check_dir(info["local_dir"], info)
        if problem is None:
            return "local", "from %s = %s (sha256 checked)" % (info["local_dir_var"], info["local_dir"]), tried
        # A named directory that does not hold the release is the person's mistake: say so,
        # do not fall back to something else behind their back.
        tried.append(("%s = %s" % (info["local_dir_var"], info["local_dir"]), problem))
        return None, None, tried
    cached = pathlib.Path(cache_dir) / info["name"] / info["version"]
    if (cached / info["archive_name"]).is_file() and (cached / info["checksums_name"]).is_file():
        problem = check_dir(cached, info)
        if problem is None:
            return "cache", "release already in the controller's cache %s (sha256 checked)" % cached, tried
        tried.append((str(cached), problem))
    for url in (info["checksums_url"], info["archive_url"]):
        problem = fetch(url)
        if problem:
            tried.append((url, problem))
            return None, None, tried
    return "download", "download %s (sha256 checked against %s)" % (info["archive_url"], info["checksums_name"]), tried


# --- the decision -----------------------------------------------------------------------


def parse_extra_vars(values):
    """The variables of ansible-playbook -e arguments: NAME=VALUE pairs, YAML/JSON, or @file."""
    out = {}
    for value in values or []:
        value = value.strip()
        if value.startswith("@"):
            loaded = _load_yaml(pathlib.Path(value[1:]).expanduser())
        elif value.startswith("{") or value.startswith("---"):
            loaded = yaml.safe_load(value)
        else:
            loaded = {}
            for pair in shlex.split(value):
                if "=" not in pair:
                    raise PreflightError("-e %s: expected NAME=VALUE" % pair)
                name, item = pair.split("=", 1)
                loaded[name] = item
        if not isinstance(loaded, dict):
            raise PreflightError("-e %s: not a mapping of variables" % value)
        out.update(loaded)
    return out


def architecture():
    return platform.machine() or "x86_64"


def decide(root, overrides, without, cache_dir, arch=None, fetch=try_url, os_release="Debian 13"):
    """One row per component: {role, title, version, source, detail, vars, missing, tried}."""
    arch = arch or architecture()
    rows = []
    for role, title, fallback in COMPONENTS:
        layer = dict(overrides)
        if role in without:
            layer[role + "_skip_install"] = True
        info = component(root, role, layer, arch)
        row = {"role": role, "title": title, "version": info["version"], "vars": {}, "missing": None,
               "tried": [], "info": info}
        if role in without:
            row["vars"][role + "_skip_install"] = True
            row.update(source="skipped", detail="will not run (--without %s: %s_skip_install)" % (role, role))
        elif info["skip"]:
            row.update(source="skipped", detail="not installed by the role (%s_skip_install is set)" % role)
        elif info["method"] == "package":
            row.update(source="package", detail="distribution package (%s=%s)" % (info["install_method_var"], info["method"]))
        elif info["method"] == "binary":
            missing = [b.get("src") or "(empty)" for b in info["binaries"] if not (b.get("src") and os.path.isfile(b["src"]))]
            if missing:
                row.update(source=None, missing="binary method, but no file at %s" % ", ".join(missing))
            else:
                row.update(source="binary", detail="binary from the controller: %s" % ", ".join(b["src"] for b in info["binaries"]))
        else:
            source, detail, tried = locate(info, cache_dir, fetch)
            row["tried"] = tried
            if source:
                row.update(source=source, detail=detail)
            elif info["local_dir"]:
                row.update(source=None, missing="the directory named does not hold the release")
            elif fallback == "package":
                row["vars"][info["install_method_var"]] = "package"
                row.update(source="package", detail=(
                    "%s's package, not the pinned release (%s=package)"
                    % (os_release, info["install_method_var"])))
            elif fallback == "build":
                row["vars"]["otel_collector_install_method"] = "binary"
                row.update(source="build", detail=(
                    "the same version, built from Go modules with the official builder "
                    "(tests/otelcol/build.sh; otel_collector_install_method=binary)"))
            else:
                row.update(source=None, missing="cannot be downloaded, no local copy named")
        rows.append(row)
    return rows


SOURCE_LABELS = {
    "download": "release",
    "cache": "release (cached)",
    "local": "release (local)",
    "package": "PACKAGE",
    "build": "BUILT HERE",
    "binary": "binary",
    "skipped": "NOT INSTALLED",
    None: "MISSING",
}


def report(rows, out=sys.stdout):
    """The table of sources, then what is missing and how to supply it."""
    def say(text=""):
        print(text, file=out)

    width = max(len("%s %s" % (r["title"], r["version"])) for r in rows)
    say("Where each component comes from (checked on this machine, before anything is deployed):")
    failures = {}
    for row in rows:
        label = "%s %s" % (row["title"], row["version"])
        say("  %-*s  %-17s %s" % (width, label, SOURCE_LABELS[row["source"]],
                                  row["detail"] if row["source"] else row["missing"]))
        for where, why in row["tried"]:
            if "://" in where:
                failures.setdefault(why, []).append(urllib.parse.urlsplit(where).netloc)
    for why, hosts in failures.items():
        say("  Downloads from %s: %s." % (", ".join(sorted(set(hosts))), why))
    fallbacks = [r for r in rows if r["source"] in ("package", "build") and r["tried"]]
    if fallbacks:
        say("  For the pinned releases instead: %s" % " ".join(
            "-e %s=DIR" % r["info"]["local_dir_var"] for r in fallbacks))
    missing = [r for r in rows if not r["source"]]
    if not missing:
        skipped = [r for r in rows if r["source"] == "skipped"]
        if skipped:
            say()
            say("!! %s will NOT run: their binaries are not installed (--without: *_skip_install)."
                % " and ".join(r["title"] for r in skipped))
            say("!! This is not the whole product: %s." % "; ".join(
                {"grafana": "no Grafana, so no dashboard can be opened",
                 "loki": "no Loki, so Claude Code's events wait in the collector's disk queue"}[r["role"]]
                for r in skipped))
        return
    names = " and ".join(r["title"] for r in missing)
    say()
    say("deploy cannot install %s. Nothing was deployed." % names)
    commands = []
    for row in missing:
        info = row["info"]
        say()
        say("  %s %s" % (row["title"], row["version"]))
        for where, why in row["tried"]:
            say("    tried        %s" % where)
            say("                 %s" % why)
        if info["method"] == "archive":
            say("    needs        %s and %s, in one directory on this machine" % (info["archive_name"], info["checksums_name"]))
            say("    from         %s" % info["archive_url"])
            say("                 %s" % info["checksums_url"])
            say("                 (release page: %s)" % RELEASE_PAGES[row["role"]].format(version=row["version"]))
            say("    supply with  %s=DIR" % info["local_dir_var"])
            commands.append("-e %s=DIR" % info["local_dir_var"])
    say()
    say("Then:  tests/harness.sh deploy %s" % " ".join(commands))
    say("       (each archive is checked against its sha256 file before anything is installed)")
    skippable = [r["role"] for r in missing if r["role"] in SKIPPABLE]
    if len(skippable) == len(missing):
        say("Or, to look at the rest of the stack without %s (they will not run; nothing stands in for them):" % names)
        say("       tests/harness.sh deploy --without %s" % ",".join(skippable))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--root", type=pathlib.Path, default=pathlib.Path(__file__).resolve().parents[2],
                        help="the collection's root (default: this checkout)")
    parser.add_argument("--cache", type=pathlib.Path, required=True, help="$TCC_CACHE")
    parser.add_argument("--vars", action="append", default=[], metavar="FILE",
                        help="a YAML file of the demo's own variables (lower precedence than -e)")
    parser.add_argument("-e", "--extra-vars", action="append", default=[], metavar="VARS",
                        help="the person's variables, as given to ansible-playbook -e")
    parser.add_argument("--without", default="", help="comma-separated: grafana, loki")
    parser.add_argument("--vars-out", type=pathlib.Path, help="write the decided variables here (YAML)")
    parser.add_argument("--no-build", action="store_true", help="decide only; do not build the collector")
    args = parser.parse_args(argv)

    without = [w.strip() for w in args.without.split(",") if w.strip()]
    unknown = [w for w in without if w not in SKIPPABLE]
    if unknown:
        print("preflight: --without takes %s only (got %s): the other components have a source here"
              % (" and ".join(SKIPPABLE), ", ".join(unknown)), file=sys.stderr)
        return 2
    try:
        overrides = {}
        for path in args.vars:
            overrides.update(_load_yaml(path))
        overrides.update(parse_extra_vars(args.extra_vars))
        rows = decide(args.root, overrides, without, args.cache / "releases")
    except (PreflightError, OSError, yaml.YAMLError) as exc:
        print("preflight: %s" % exc, file=sys.stderr)
        return 2
    report(rows)
    if any(not r["source"] for r in rows):
        return 3
    decided = {}
    for row in rows:
        decided.update(row["vars"])
    if any(r["source"] == "build" for r in rows) and not args.no_build:
        print("\nBuilding the collector (cached after the first build) ...", flush=True)
        out = subprocess.run(["bash", str(args.root / "tests/otelcol/build.sh")], check=False,
                             stdout=subprocess.PIPE, text=True)
        lines = out.stdout.strip().splitlines()
        if out.returncode != 0 or not lines or not os.path.isfile(lines[-1]):
            print("preflight: the collector build failed (tests/otelcol/build.sh, output above)", file=sys.stderr)
            return 2
        decided["otel_collector_binary_src"] = lines[-1]
        print("collector: %s" % lines[-1])
    if args.vars_out:
        args.vars_out.parent.mkdir(parents=True, exist_ok=True)
        with open(args.vars_out, "w", encoding="utf-8") as handle:
            handle.write("---\n# Written by tests/demo/preflight.py: where each component came from in the last deploy.\n")
            yaml.safe_dump(decided, handle, default_flow_style=False, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
