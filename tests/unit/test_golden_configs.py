"""Golden files: each role's rendered configuration for its main variable combinations.

The configuration templates are rendered by Ansible itself (tests/golden/render.yml, one local
host per case, the case's variables as inventory host variables over the role's defaults) and
compared byte for byte with tests/golden/<role>/<case>.<ext>. A change to a template or to the
variables it reads shows up here as a diff of the file the service would read.

    TCC_GOLDEN_UPDATE=1 python -m pytest tests/unit/test_golden_configs.py    # rewrite them

Each role's golden cases are tests/golden/<role>/cases.yml. The collection must be visible to
Ansible as telemetry.claude_code (tests/harness.sh links it through ANSIBLE_HOME).
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import difflib

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden"

# role[:what] -> (template, suffix of the golden files)
TEMPLATES = {
    "otel_collector": ("config.yaml.j2", ".yaml"),
    # The environment file: GOMEMLIMIT (tests/bench/collector-capacity.sh reads defaults.env).
    "otel_collector:env": ("otelcol.env.j2", ".env"),
    "loki": ("loki.yml.j2", ".yaml"),
    "prometheus": ("prometheus.yml.j2", ".yaml"),
    # The data sources' provisioning file (the case sets _grafana_provisioning as the task does).
    "grafana:datasources": ("provisioning.yml.j2", ".yaml"),
}


def _role(key: str) -> str:
    return key.split(":")[0]


def _render(key: str, tmp_path: pathlib.Path) -> dict[str, str]:
    template, suffix = TEMPLATES[key]
    role = _role(key)
    cases = yaml.safe_load((GOLDEN / role / "cases.yml").read_text(encoding="utf-8"))
    out = tmp_path / "out"
    out.mkdir()
    inventory = {
        "all": {
            "vars": {
                "ansible_connection": "local",
                "ansible_python_interpreter": shutil.which("python") or shutil.which("python3"),
                "golden_role": role,
                "golden_template": str(ROOT / "roles" / role / "templates" / template),
                "golden_out": str(out),
                "golden_suffix": suffix,
            },
            "hosts": {name: (variables or {}) for name, variables in cases.items()},
        }
    }
    inventory_file = tmp_path / "inventory.json"
    inventory_file.write_text(json.dumps(inventory), encoding="utf-8")
    env = dict(os.environ, ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
               ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="false")
    proc = subprocess.run(
        ["ansible-playbook", "-i", str(inventory_file), str(GOLDEN / "render.yml")],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=300,
    )
    assert proc.returncode == 0, f"rendering failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}"
    return {name: (out / f"{name}{suffix}").read_text(encoding="utf-8") for name in cases}


@pytest.mark.parametrize("key", sorted(TEMPLATES))
def test_rendered_configuration_matches_golden_files(key, tmp_path):
    suffix = TEMPLATES[key][1]
    role = _role(key)
    rendered = _render(key, tmp_path)
    update = os.environ.get("TCC_GOLDEN_UPDATE") == "1"
    problems = []
    for name, text in sorted(rendered.items()):
        golden = GOLDEN / role / f"{name}{suffix}"
        if update:
            golden.write_text(text, encoding="utf-8")
            continue
        if not golden.exists():
            problems.append(f"{golden.relative_to(ROOT)} is missing (TCC_GOLDEN_UPDATE=1 writes it)")
            continue
        expected = golden.read_text(encoding="utf-8")
        if text != expected:
            diff = "".join(difflib.unified_diff(expected.splitlines(True), text.splitlines(True),
                                                str(golden.relative_to(ROOT)), "rendered"))
            problems.append(diff)
    assert not problems, "\n".join(problems)


def test_collector_golden_configs_pass_otelcol_validate():
    """Every golden collector configuration is one the real collector accepts (tests/otelcol build)."""
    binary = os.environ.get("TCC_OTELCOL_BIN", "")
    assert binary and pathlib.Path(binary).is_file(), (
        "TCC_OTELCOL_BIN must name the collector built by tests/otelcol/build.sh (tests/harness.sh unit sets it)")
    env = dict(os.environ, OTELCOL_BEARER_TOKEN="validate-placeholder", LOKI_TENANT="validate-placeholder")
    for path in sorted((GOLDEN / "otel_collector").glob("*.yaml")):
        proc = subprocess.run([binary, "validate", f"--config={path}"], env=env, capture_output=True, text=True,
                              check=False, timeout=60)
        assert proc.returncode == 0, f"{path.name}: {proc.stderr[-2000:]}"


def test_prometheus_golden_configs_pass_promtool(tmp_path):
    """Every golden Prometheus configuration is one the real promtool of the pinned line accepts
    (Debian 14's 3.5.3), as the role's validate: does (--syntax-only: the *_file paths it names
    exist on a real host only)."""
    promtool = os.environ.get("TCC_PROMTOOL_PINNED", "")
    assert promtool and pathlib.Path(promtool).is_file(), (
        "TCC_PROMTOOL_PINNED must name promtool 3.5 (tests/harness.sh unit sets it: tests/rules/fetch-prometheus.sh forky)")
    for path in sorted((GOLDEN / "prometheus").glob("*.yaml")):
        if path.name == "cases.yml":
            continue
        proc = subprocess.run([promtool, "check", "config", "--syntax-only", str(path)], capture_output=True,
                              text=True, check=False, timeout=60)
        assert proc.returncode == 0, f"{path.name}: {proc.stdout[-1000:]} {proc.stderr[-2000:]}"
        print(f"{path.name}: {proc.stdout.strip()}")


@pytest.mark.parametrize("role", sorted(r for r, (_template, suffix) in TEMPLATES.items() if suffix in (".yaml", ".yml")))
def test_golden_files_are_valid_yaml(role):
    suffix = TEMPLATES[role][1]
    for path in sorted((GOLDEN / role).glob(f"*{suffix}")):
        if path.name == "cases.yml":
            continue
        assert isinstance(yaml.safe_load(path.read_text(encoding="utf-8")), dict), path
