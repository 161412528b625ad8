"""Which managed settings file wins for each entry the role writes, on a developer's machine.

tasks/configure.yml runs this with ansible.builtin.script. Arguments:
  1. the managed settings directory <dir> (/etc/claude-code on Linux);
  2. the role's file (<dir>/managed-settings.json or <dir>/managed-settings.d/<name>.json);
  3. JSON: {"env": {name: sha256 of the role's value}, "env_removed": [names the role takes out],
            "top": {key: sha256}, "top_removed": [keys]}.
It prints one JSON object: the files in the order Claude Code reads them, the files it could
not use, and every entry whose winning file is another file with another value (or a value
where the role has none). Values never leave the host: only their SHA-256 is compared.

The order is Claude Code's, measured with 2.1.197 and 2.1.332 (molecule/client and the
role's README): <dir>/managed-settings.json, then every <dir>/managed-settings.d/*.json that
is a regular file or a symlink and whose name does not start with a dot, sorted by name. Each
file is merged over the ones before it, so the last file that sets a key wins. A file that is
not valid JSON is skipped by 2.1.197 (it reads the others); 2.1.332 refuses to start ("Managed
settings document could not be parsed as a JSON object; none of its settings are in effect. Fix or
remove it."). Both measured with a broken drop-in beside a valid managed-settings.json.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys


def read_order(directory):
    order = [os.path.join(directory, "managed-settings.json")]
    dropins = os.path.join(directory, "managed-settings.d")
    try:
        entries = sorted(os.scandir(dropins), key=lambda entry: entry.name)
    except OSError:
        entries = []
    for entry in entries:
        if entry.name.startswith(".") or not entry.name.endswith(".json"):
            continue
        if entry.is_symlink() or entry.is_file(follow_symlinks=False):
            order.append(entry.path)
    return order


def digest(value):
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def load(path):
    """(settings, error): settings is None when the file is absent or cannot be used."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        return None, None
    except (OSError, UnicodeDecodeError) as exc:
        return None, f"cannot be read ({exc.__class__.__name__})"
    if not text.strip():
        return {}, None
    try:
        data = json.loads(text)
    except ValueError:
        return None, "is not valid JSON: Claude Code 2.1.197 skips it, 2.1.332 refuses to start until it is fixed"
    if not isinstance(data, dict) or not isinstance(data.get("env", {}), dict):
        return None, 'is not a JSON object with an "env" object: Claude Code cannot use it'
    return data, None


def main(directory, own_file, wanted_json):
    wanted = json.loads(wanted_json)
    own_file = os.path.normpath(own_file)
    order = read_order(directory)
    if own_file not in order:
        # Not on disk yet (first run, check mode): Claude Code will read it in its place.
        order = order[:1] + sorted(order[1:] + [own_file], key=os.path.basename)
    winners = {}
    unusable = []
    for path in order:
        if path == own_file:
            # What the role writes there. An entry it removes is only absent from its own
            # file: an earlier file's value for it stays in effect.
            for key, value in wanted["env"].items():
                winners[("env", key)] = (path, value)
            for key, value in wanted["top"].items():
                winners[("top", key)] = (path, value)
            continue
        data, error = load(path)
        if error:
            unusable.append({"file": path, "problem": error})
        if not data:
            continue
        for key, value in (data.get("env") or {}).items():
            winners[("env", key)] = (path, digest(value))
        for key, value in data.items():
            if key != "env":
                winners[("top", key)] = (path, digest(value))
    overrides = []
    for kind, keys in (("env", list(wanted["env"]) + wanted["env_removed"]),
                       ("top", list(wanted["top"]) + wanted["top_removed"])):
        for key in keys:
            winner = winners.get((kind, key))
            if winner is None or winner[0] == own_file:
                continue
            overrides.append({
                "key": key if kind == "top" else f"env.{key}",
                "file": winner[0],
                "why": "another value" if key in wanted[kind] else "a value where the role has none",
            })
    warnings = []
    if overrides or unusable:
        warnings.append(
            f"Claude Code reads {', '.join(order)} in this order; for an entry set in two files, the file read last"
            f" wins. These entries of {own_file} are not in effect:" if overrides else
            f"Claude Code reads {', '.join(order)} in this order.")
    warnings += [f"{item['key']}: {item['file']} sets {item['why']}, and wins" for item in overrides]
    warnings += [f"{item['file']} {item['problem']}" for item in unusable]
    print(json.dumps({"read_order": order, "unusable": unusable, "overrides": overrides, "warnings": warnings},
                     sort_keys=True))


if __name__ == "__main__":
    main(*sys.argv[1:4])
