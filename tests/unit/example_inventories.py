"""Running a playbook of the collection against an example inventory of playbooks/inventories/, every
host on a local connection, and reading the json callback: shared by test_site_layouts.py and
test_doctor_layouts.py. The vault_* variables the inventories reference get placeholders.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]
INVENTORIES = ROOT / "playbooks" / "inventories"
VAULT = {
    "vault_otel_ingest_token": "placeholder-token",
    "vault_grafana_admin_password": "placeholder-password",
    "vault_loki_s3_access_key_id": "placeholder-id",
    "vault_loki_s3_secret_access_key": "placeholder-secret",
}


def run_json(playbook: str, inventory: str, *args: str, **extra) -> subprocess.CompletedProcess:
    """ansible-playbook PLAYBOOK against the inventory with ARGS and extra variables; stdout is the json callback's."""
    variables = dict(VAULT, ansible_connection="local", ansible_become=False,
                     ansible_python_interpreter=shutil.which("python") or shutil.which("python3"), **extra)
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="json", ANSIBLE_NOCOLOR="1", ANSIBLE_FORKS="20",
               ANSIBLE_RETRY_FILES_ENABLED="false", ANSIBLE_LOCALHOST_WARNING="false")
    return subprocess.run(
        ["ansible-playbook", "-i", str(INVENTORIES / inventory), playbook, *args, "-e", json.dumps(variables)],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=600,
    )
