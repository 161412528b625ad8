"""prometheus_remote_write: which items make the role hide the configuration task (no_log).

The role decides with _prometheus_config_has_secrets (roles/prometheus/vars/main.yml): an inline
password, bearer credentials, OAuth 2.0 client secret, SigV4 secret key, or a custom header named
like a secret (X-API-Key; not a tenant's X-Scope-OrgID) hides the task's output; the *_file forms do not (promtool's messages stay visible). Evaluated
by Ansible itself, with the role's vars loaded as the role loads them. The molecule scenario
(molecule/prometheus/converge.yml) checks a real run's output for the password.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]

CASES = {
    "none": ([], False),
    "password_file": ([{"url": "http://tsdb:8428/api/v1/write",
                        "basic_auth": {"username": "u", "password_file": "/etc/prometheus/pw"}}], False),
    "credentials_file": ([{"url": "https://tsdb/api/v1/push",
                           "authorization": {"type": "Bearer", "credentials_file": "/etc/prometheus/token"}}], False),
    "tls_and_relabel": ([{"url": "https://tsdb/api/v1/push", "tls_config": {"ca_file": "/etc/ca.crt"},
                          "write_relabel_configs": [{"source_labels": ["__name__"], "regex": "up", "action": "keep"}],
                          "headers": {}}], False),
    "password_null": ([{"url": "http://tsdb", "basic_auth": {"username": "u", "password": None}}], False),
    "password": ([{"url": "http://tsdb", "basic_auth": {"username": "u", "password": "s3cret"}}], True),
    "credentials": ([{"url": "http://tsdb", "authorization": {"credentials": "t0ken"}}], True),
    "tenant_header": ([{"url": "http://tsdb", "headers": {"X-Scope-OrgID": "claude-code"}}], False),
    "api_key_header": ([{"url": "http://tsdb", "headers": {"X-Scope-OrgID": "a", "X-API-Key": "k"}}], True),
    "token_header": ([{"url": "http://tsdb", "headers": {"x-auth-token": "k"}}], True),
    "oauth2": ([{"url": "http://tsdb", "oauth2": {"client_id": "a", "client_secret": "b", "token_url": "http://t"}}], True),
    "sigv4": ([{"url": "http://tsdb", "sigv4": {"region": "eu-west-1", "access_key": "a", "secret_key": "b"}}], True),
    "second_item": ([{"url": "http://a"}, {"url": "http://b", "basic_auth": {"username": "u", "password": "p"}}], True),
}


def test_inline_secrets_hide_the_configuration_task(tmp_path):
    playbook = tmp_path / "has_secrets.yml"
    playbook.write_text(json.dumps([{
        "name": "Evaluate _prometheus_config_has_secrets",
        "hosts": "localhost",
        "gather_facts": False,
        "tasks": [
            {"name": "Load the role's defaults and vars", "ansible.builtin.include_role": {
                "name": "telemetry.claude_code.prometheus", "public": True, "apply": {"tags": ["never"]}}},
            {"name": "Evaluate each case", "ansible.builtin.debug": {
                "msg": "CASE {{ item.key }} {{ _prometheus_config_has_secrets | bool }}"},
             "vars": {"prometheus_remote_write": "{{ item.value }}"},
             "loop": "{{ cases | dict2items }}"},
        ],
    }]), encoding="utf-8")
    cases = {name: items for name, (items, _hidden) in CASES.items()}
    env = dict(os.environ, ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
               ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="false")
    proc = subprocess.run(
        ["ansible-playbook", "-i", "localhost,", "-c", "local", "-e", json.dumps({"cases": cases}), str(playbook)],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    got = {}
    for line in proc.stdout.splitlines():
        if '"msg": "CASE ' in line:
            _case, name, value = line.split('"msg": "', 1)[1].rstrip('"').split()
            got[name] = value == "True"
    print(got)
    assert got == {name: hidden for name, (_items, hidden) in CASES.items()}
