"""Per-model prices, from the model catalog built into Claude Code itself.

Claude Code computes its own cost (the `cost.usage` metric, `costUSD` in its JSON result) from a
model catalog compiled into the CLI (2.1.332: `schema_version:1, pricing_tiers:{...}, models:[...]`
in bin/claude.exe; every entry's `pricing` names a tier with input, output, cache_write_5m,
cache_write_1h, cache_read and an optional long_prompt tier above a number of prompt tokens).
This tool takes that catalog out of a given CLI binary, so that the collection's price list
(files/model_prices.yml, used by the token-derived cost panels) is the CLI's own and lists every
model it can use, and keeps a normalised copy in docs/catalog/claude-code-<version>.models.json.

    python3 tests/catalog/model_prices.py --binary BIN --version 2.1.332            # write both
    python3 tests/catalog/model_prices.py --binary BIN --version 2.1.332 --check    # compare only

(`tests/harness.sh prices` runs it for the newest supported Claude Code.) The object literal is
read by Node.js (JSON.stringify of the literal, no other code of the CLI runs). Claude Code 2.1.197
has no such catalog (its prices are code): its models are in 2.1.332's catalog too.
"""

from __future__ import annotations

import argparse
import datetime
import json
import pathlib
import re
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
PRICES_FILE = ROOT / "files" / "model_prices.yml"
CATALOG_DIR = ROOT / "docs" / "catalog"
MARKER = b"schema_version:1,pricing_tiers:"
# The catalog's price keys -> the price file's (cache_write is the 5-minute write).
KEYS = (("input", "input"), ("output", "output"), ("cache_read", "cache_read"),
        ("cache_write_5m", "cache_write"), ("cache_write_1h", "cache_write_1h"))


def object_literal(data: bytes, marker: bytes = MARKER) -> str:
    """The JavaScript object literal around `marker` in the binary, braces balanced."""
    at = data.find(marker)
    if at < 0:
        raise SystemExit("no model catalog in this binary (Claude Code before 2.1.3xx keeps its prices in code)")
    start = data.rfind(b"{", 0, at)
    depth, i = 0, start
    while i < len(data):
        char = data[i:i + 1]
        if char == b"{":
            depth += 1
        elif char == b"}":
            depth -= 1
            if depth == 0:
                return data[start:i + 1].decode("utf-8")
        elif char in (b'"', b"'", b"`"):
            i += 1
            while data[i:i + 1] != char:
                i += 2 if data[i:i + 1] == b"\\" else 1
        i += 1
    raise SystemExit("unbalanced model catalog literal")


def read_catalog(binary: pathlib.Path) -> dict:
    literal = object_literal(binary.read_bytes())
    with tempfile.NamedTemporaryFile("w", suffix=".js", delete=False, encoding="utf-8") as script:
        script.write("process.stdout.write(JSON.stringify((" + literal + ")))\n")
    try:
        out = subprocess.run(["node", script.name], capture_output=True, text=True, check=True, timeout=60).stdout
    finally:
        pathlib.Path(script.name).unlink()
    return json.loads(out)


def _prices(tier: dict) -> dict:
    return {ours: float(tier[theirs]) for theirs, ours in KEYS if theirs in tier}


def normalise(catalog: dict, version: str) -> dict:
    """Models with their ids (every provider's) and resolved prices, sorted by id."""
    tiers = catalog["pricing_tiers"]
    models = []
    for model in catalog["models"]:
        tier = tiers[model["pricing"]] if isinstance(model["pricing"], str) else model["pricing"]
        entry = {
            "id": model["id"],
            "name": model.get("display_name", model["id"]),
            "provider_ids": dict(sorted((k, v) for k, v in model.get("provider_ids", {}).items() if v)),
            "prices": _prices(tier),
        }
        if tier.get("long_prompt"):
            long_prompt = tier["long_prompt"]
            entry["long_prompt"] = {"above_prompt_tokens": int(long_prompt["above_prompt_tokens"]),
                                    **_prices(long_prompt)}
        models.append(entry)
    aliases = {name: alias.get("default") for name, alias in sorted(catalog.get("aliases", {}).items())
               if isinstance(alias, dict)}
    return {"claude_code_version": version, "source": "the model catalog built into Claude Code (bin/claude.exe)",
            "aliases": aliases, "models": sorted(models, key=lambda m: m["id"])}


def match_regex(model: dict) -> str:
    """A fully anchored Prometheus regex for the `model` label: every provider's id of the model."""
    ids = sorted({model["id"], *model["provider_ids"].values()})
    return "|".join(re.escape(i).replace("\\-", "-") for i in ids)


def _num(value: float) -> str:
    return repr(float(value)).rstrip("0").rstrip(".") if float(value) != int(value) else str(int(value)) + ".0"


def render_prices(models: dict, date: str) -> str:
    """files/model_prices.yml for the normalised catalog."""
    lines = [
        "---",
        "# Per-model prices, USD per million tokens: the one place the collection keeps them.",
        "# Generated by tests/catalog/model_prices.py from the model catalog built into Claude Code",
        f"# {models['claude_code_version']} (docs/catalog/claude-code-{models['claude_code_version']}.models.json):",
        "# Claude Code computes its own cost from these same prices. Do not edit by hand: run",
        "# `tests/harness.sh prices` when a new Claude Code is supported.",
        "#",
        "# The grafana role renders them into the dashboards' token-derived cost panels and shows this",
        "# table and its date in the main dashboard. `match` is a Prometheus regular expression (fully",
        "# anchored) on the `model` label: the model's id at every provider. A model that matches no",
        "# entry is not priced: the panels show its tokens as unpriced instead of guessing a price.",
        "# cache_write is the price of 5-minute cache writes, cache_write_1h of 1-hour ones;",
        "# long_prompt is the tier of a request whose prompt is above that many tokens.",
        "claude_code_model_prices:",
        f'  date: "{date}"',
        f'  source: "Claude Code {models["claude_code_version"]}"',
        "  currency: USD",
        "  per: 1000000",
        "  models:",
    ]
    for model in models["models"]:
        lines.append(f"    - name: {model['name']}")
        lines.append(f"      id: {model['id']}")
        lines.append("      match: " + json.dumps(match_regex(model)))
        for key, value in model["prices"].items():
            lines.append(f"      {key}: {_num(value)}")
        if "long_prompt" in model:
            lines.append("      long_prompt:")
            for key, value in model["long_prompt"].items():
                lines.append(f"        {key}: {value if key == 'above_prompt_tokens' else _num(value)}")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--binary", required=True, type=pathlib.Path, help="Claude Code's bin/claude.exe")
    parser.add_argument("--version", required=True, help="its version, e.g. 2.1.332")
    parser.add_argument("--date", default=datetime.date.today().isoformat(), help="date of the price list")
    parser.add_argument("--check", action="store_true", help="compare with the files in the repository, write nothing")
    args = parser.parse_args(argv)
    models = normalise(read_catalog(args.binary), args.version)
    models_file = CATALOG_DIR / f"claude-code-{args.version}.models.json"
    models_text = json.dumps(models, indent=2, sort_keys=False) + "\n"
    if args.check:
        problems = []
        if not models_file.exists() or models_file.read_text(encoding="utf-8") != models_text:
            problems.append(f"{models_file.relative_to(ROOT)} differs from the catalog in {args.binary}")
        old = PRICES_FILE.read_text(encoding="utf-8")
        date = re.search(r'^  date: "([^"]+)"', old, re.M)
        if render_prices(models, date.group(1) if date else args.date) != old:
            problems.append(f"{PRICES_FILE.relative_to(ROOT)} differs from the catalog in {args.binary}")
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1 if problems else 0
    CATALOG_DIR.mkdir(parents=True, exist_ok=True)
    models_file.write_text(models_text, encoding="utf-8")
    PRICES_FILE.write_text(render_prices(models, args.date), encoding="utf-8")
    print(f"wrote {models_file.relative_to(ROOT)} and {PRICES_FILE.relative_to(ROOT)}: {len(models['models'])} models")
    return 0


if __name__ == "__main__":
    sys.exit(main())
