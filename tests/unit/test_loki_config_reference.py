"""The loki role's rendered configurations against Loki's own documented configuration.

No Loki binary can be had on the test machines, so `loki -verify-config` never runs here (the
role runs it on every real host, before a configuration replaces the working one). What these
tests do instead, for every golden configuration (tests/golden/loki/*.yaml, which
test_golden_configs.py proves to be the role's rendering byte for byte):

* Every key, at every depth, is one that Loki's configuration reference documents for the
  release the role pins, and every value has the documented type. Loki parses its file with
  yaml.UnmarshalStrict (pkg/util/cfg/files.go), so an unknown key would stop it at start.
  The reference is docs/sources/shared/configuration.md of grafana/loki at the tag
  v<loki_version> (v3.5.3: commit af52a690ce73867bbf9cecbf2d279c578aa99d2d), read from the
  Go module github.com/grafana/loki/v3@v<loki_version> (the Go module proxy serves the tag's
  tree; `go mod download` checks it against the Go checksum database).
* The storage rules Loki enforces in code, each cited: the period's object_store is a store
  the reference lists; the compactor's delete_request_store is set when retention is on
  (pkg/compactor/compactor.go, Config.Validate) and is the store of the current period; every
  store a period uses has its storage_config block; S3 key id and secret come together
  (pkg/storage/chunk/client/aws/s3_storage_client.go, buildS3Client); the targets are the ones
  of the simple scalable deployment (docs/sources/get-started/deployment-modes.md) and a read
  target has a compactor address (pkg/loki/modules.go, compactorAddress).

Whether Loki itself starts with these files, and works, is not verified here.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import shutil
import subprocess

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "golden" / "loki"
LOKI_MODULE = "github.com/grafana/loki/v3"
REFERENCE = "docs/sources/shared/configuration.md"
DEPLOYMENT_MODES = "docs/sources/get-started/deployment-modes.md"
ROOT_SECTION = "Supported contents and default values of `loki.yaml`"


def _loki_version() -> str:
    defaults = yaml.safe_load((ROOT / "roles" / "loki" / "defaults" / "main.yml").read_text(encoding="utf-8"))
    return str(defaults["loki_version"])


@pytest.fixture(scope="module")
def loki_source() -> pathlib.Path:
    """The tree of the pinned Loki release, from the Go module proxy (cached by Go)."""
    go = shutil.which("go") or "/usr/local/go/bin/go"
    assert pathlib.Path(go).exists(), "a Go toolchain is needed to fetch Loki's configuration reference"
    version = "v" + _loki_version()
    proc = subprocess.run([go, "mod", "download", "-json", f"{LOKI_MODULE}@{version}"], capture_output=True,
                          text=True, check=False, timeout=600, env=dict(os.environ, GOFLAGS="-mod=mod", GOWORK="off"))
    assert proc.returncode == 0, f"go mod download {LOKI_MODULE}@{version} failed: {proc.stdout}{proc.stderr}"
    info = json.loads(proc.stdout)
    path = pathlib.Path(info["Dir"])
    assert (path / REFERENCE).is_file(), f"{REFERENCE} is not in {LOKI_MODULE}@{version}"
    print(f"\nLoki configuration reference: {REFERENCE} of {LOKI_MODULE}@{version} ({path})")
    return path


# --- the reference, parsed ----------------------------------------------------------------------
#
# configuration.md documents each block as a YAML sketch: `[key: <type> | default = ...]` for a
# field, `key:` for a nested mapping, `[key: <block>]` for a block documented in its own
# `### block` section, `[<block>]` for a block inlined at that level, `<list of blocks>` for a
# list of them and `<map of string to block>` for a map of them.

FIELD = re.compile(r"^(?P<indent> *)\[(?P<key>[A-Za-z0-9_]*): <(?P<type>[^>]+)>(?: \| default = .*)?\]\s*$")
INLINE = re.compile(r"^(?P<indent> *)\[<(?P<block>[a-z0-9_]+)>\]\s*$")
MAPPING = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z0-9_]+):\s*$")


def _yaml_blocks(text: str) -> dict[str, list[str]]:
    """Section title -> the lines of its ```yaml sketch (the first block with a `[...]` field;
    a few sections show an example first)."""
    blocks, title, inside, lines = {}, None, False, []
    for line in text.splitlines():
        if not inside and line.startswith("### "):
            title = line[4:].strip()
        elif not inside and line.strip() == "```yaml" and title:
            inside, lines = True, []
        elif inside and line.strip() == "```":
            inside = False
            if title not in blocks and any(FIELD.match(i) or INLINE.match(i) for i in lines):
                blocks[title] = lines
        elif inside:
            lines.append(line)
    return blocks


def _parse_block(lines: list[str]) -> dict:
    root: dict = {}
    stack = [(0, root)]
    for line in lines:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = FIELD.match(line) or INLINE.match(line) or MAPPING.match(line)
        assert match, f"unparsed line of the reference: {line!r}"
        indent = len(match["indent"])
        while stack[-1][0] > indent:
            stack.pop()
        assert stack[-1][0] == indent, f"unexpected indentation in the reference: {line!r}"
        node = stack[-1][1]
        if match.re is FIELD:
            # `[: <map of string to Header>]`: a mapping of names the user chooses.
            node[match["key"] or "<any>"] = ("field", match["type"])
        elif match.re is INLINE:
            node.setdefault("<inline>", []).append(match["block"])
        else:
            child: dict = {}
            node[match["key"]] = ("mapping", child)
            stack.append((indent + 2, child))
    return root


def parse_reference(text: str) -> dict[str, dict]:
    blocks = {title: _parse_block(lines) for title, lines in _yaml_blocks(text).items()}
    blocks["<root>"] = blocks.pop(ROOT_SECTION)
    return blocks


@pytest.fixture(scope="module")
def reference(loki_source) -> dict[str, dict]:  # pylint: disable=redefined-outer-name
    blocks = parse_reference((loki_source / REFERENCE).read_text(encoding="utf-8"))
    # The parser understood the sketch: the blocks this role writes are there, with known fields.
    for name in ("server", "common", "storage_config", "s3_storage_config", "gcs_storage_config",
                 "azure_storage_config", "compactor", "memberlist", "period_config", "limits_config", "ruler"):
        assert name in blocks, f"no ### {name} section parsed from {REFERENCE}"
    assert blocks["s3_storage_config"]["s3forcepathstyle"] == ("field", "boolean")
    return blocks


# --- checking a configuration against it --------------------------------------------------------

DURATION = re.compile(r"^(0|([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h|d|w|y))+)$")
SIZE = re.compile(r"^[0-9]+(B|KB|MB|GB|TB|PB|EB|KiB|MiB|GiB|TiB)?$")


def _lookup(blocks: dict, node: dict, key: str):
    if key in node and not key.startswith("<"):
        return node[key]
    for inline in node.get("<inline>", []):
        found = _lookup(blocks, blocks[inline], key)
        if found:
            return found
    return node.get("<any>")


def _check_value(blocks: dict, kind: str, value, path: str, problems: list[str]) -> None:
    if kind in blocks:
        _check_mapping(blocks, blocks[kind], value, path, problems)
        return
    listed = re.fullmatch(r"list of (.+)s", kind)
    mapped = re.fullmatch(r"map of string to (.+)", kind)
    if listed and listed[1] in blocks:
        if not isinstance(value, list):
            problems.append(f"{path}: a list of {listed[1]} is documented, got {value!r}")
            return
        for i, item in enumerate(value):
            _check_mapping(blocks, blocks[listed[1]], item, f"{path}[{i}]", problems)
        return
    if mapped and mapped[1] in blocks:
        for name, item in (value or {}).items():
            _check_mapping(blocks, blocks[mapped[1]], item, f"{path}.{name}", problems)
        return
    checks = {
        "boolean": lambda v: isinstance(v, bool),
        "int": lambda v: (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, str) and SIZE.match(v)),
        "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "duration": lambda v: (isinstance(v, int) and v == 0) or (isinstance(v, str) and DURATION.match(v)),
        "string": lambda v: isinstance(v, str),
        "url": lambda v: isinstance(v, str),
        "daytime": lambda v: isinstance(v, str) and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", v),
        "list of strings": lambda v: isinstance(v, list) and all(isinstance(i, str) for i in v),
    }
    assert kind in checks, f"{path}: the role writes a field of documented type <{kind}>, which this test cannot check yet"
    if not checks[kind](value):
        problems.append(f"{path}: <{kind}> is documented, got {value!r}")


def _check_mapping(blocks: dict, node: dict, value, path: str, problems: list[str]) -> None:
    if not isinstance(value, dict):
        problems.append(f"{path or '<root>'}: a mapping is documented, got {value!r}")
        return
    for key, item in value.items():
        where = f"{path}.{key}" if path else key
        spec = _lookup(blocks, node, key)
        if spec is None:
            problems.append(f"{where}: not a key of Loki's configuration")
        elif spec[0] == "mapping":
            _check_mapping(blocks, spec[1], item, where, problems)
        else:
            _check_value(blocks, spec[1], item, where, problems)


def check_configuration(blocks: dict, config: dict) -> list[str]:
    problems: list[str] = []
    _check_mapping(blocks, blocks["<root>"], config, "", problems)
    return problems


def expand_env(text: str, env: dict[str, str]) -> str:
    """The file as Loki reads it with -config.expand-env=true: github.com/drone/envsubst v1.0.3
    (Loki v3.5.3's go.mod; pkg/util/cfg/files.go calls envsubst.EvalEnv) replaces ${NAME} and
    ${NAME:-default}, turns $$ into $, \\\\ into \\ and \\/ into /, and leaves a bare $NAME alone."""
    token = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$\$|\\\\|\\/")

    def replace(match: re.Match) -> str:
        if match[1]:
            return env.get(match[1], match[2] if match[2] is not None else "")
        return {"$$": "$", "\\\\": "\\", "\\/": "/"}[match[0]]

    return token.sub(replace, text)


def golden_configurations() -> list[pathlib.Path]:
    return sorted(p for p in GOLDEN.glob("*.yaml"))


def _load(path: pathlib.Path) -> dict:
    text = path.read_text(encoding="utf-8")
    # As Loki reads it with -config.expand-env=true: the references become the credentials.
    return yaml.safe_load(expand_env(text, {name: f"placeholder-{name}" for name in re.findall(r"\$\{(\w+)", text)}))


# --- the tests ----------------------------------------------------------------------------------

def test_golden_configurations_exist():
    names = {p.stem for p in golden_configurations()}
    assert {"filesystem", "s3_minio", "gcs", "azure", "ssd_write", "ssd_read", "ssd_backend"} <= names, names


def test_the_checker_refuses_what_loki_refuses(reference):  # pylint: disable=redefined-outer-name
    """The check is not vacuous: an unknown key, a misspelt S3 key, a wrong type are caught."""
    config = _load(GOLDEN / "s3_minio.yaml")
    assert check_configuration(reference, config) == []
    config["storage_config"]["aws"]["force_path_style"] = True          # the Thanos client's spelling
    config["storage_config"]["aws"]["insecure"] = "no"                   # not a boolean
    config["compactor"]["shared_store"] = "s3"                          # removed in Loki 3.0
    config["frontend_worker"] = {"frontend_address": "x:1", "no_such_key": 1}
    problems = check_configuration(reference, config)
    assert problems == [
        "storage_config.aws.insecure: <boolean> is documented, got 'no'",
        "storage_config.aws.force_path_style: not a key of Loki's configuration",
        "compactor.shared_store: not a key of Loki's configuration",
        "frontend_worker.no_such_key: not a key of Loki's configuration",
    ], problems


@pytest.mark.parametrize("path", golden_configurations(), ids=lambda p: p.stem)
def test_every_key_and_value_is_documented(reference, path):  # pylint: disable=redefined-outer-name
    problems = check_configuration(reference, _load(path))
    assert not problems, f"{path.name} against {REFERENCE} of Loki v{_loki_version()}:\n" + "\n".join(problems)


def _object_stores(loki_source) -> set[str]:  # pylint: disable=redefined-outer-name
    """The chunk stores period_config documents ("Either aws (alias s3), azure, gcs, ...")."""
    text = (loki_source / REFERENCE).read_text(encoding="utf-8")
    block = "\n".join(_yaml_blocks(text)["period_config"])
    match = re.search(r"# Which store to use for the chunks\. Either (.*?), or a named_store", block, re.S)
    assert match, "period_config no longer documents its object stores this way"
    names = re.sub(r"\s*#\s*", " ", match[1]).replace("aws (alias s3)", "aws, s3")
    return {name.strip() for name in names.split(",")}


@pytest.mark.parametrize("path", golden_configurations(), ids=lambda p: p.stem)
def test_storage_rules_loki_enforces(loki_source, path):  # pylint: disable=redefined-outer-name
    config = _load(path)
    stores = _object_stores(loki_source)
    periods = config["schema_config"]["configs"]
    for period in periods:
        assert period["object_store"] in stores, f"{period['object_store']} is not one of {sorted(stores)}"
        assert (period["store"], period["schema"]) == ("tsdb", "v13")
    current = periods[-1]["object_store"]
    compactor = config["compactor"]
    # pkg/compactor/compactor.go (v3.5.3) Config.Validate: retention needs delete_request_store.
    assert compactor["retention_enabled"] is True and compactor["delete_request_store"] == current
    assert config["limits_config"]["retention_period"]
    # Each store a period uses has its client's block (storage_config.aws is the S3 client's).
    block_of = {"s3": "aws", "aws": "aws", "gcs": "gcs", "azure": "azure", "filesystem": "filesystem"}
    for period in periods:
        assert block_of[period["object_store"]] in config["storage_config"], period
    assert "tsdb_shipper" in config["storage_config"]
    # pkg/loki/config_wrapper.go (v3.5.3) applyStorageConfig: one common.storage backend at most;
    # the role configures storage_config directly and none there.
    assert "storage" not in config["common"]
    aws = config["storage_config"].get("aws")
    if aws is not None:
        # pkg/storage/chunk/client/aws/s3_storage_client.go (v3.5.3) buildS3Client.
        assert ("access_key_id" in aws) == ("secret_access_key" in aws)
        assert aws["bucketnames"] and "," not in aws["bucketnames"]
        assert not re.match(r"^[a-z]+://", aws.get("endpoint", "")), "endpoint is HOST[:PORT]; insecure picks http"


@pytest.mark.parametrize("path", golden_configurations(), ids=lambda p: p.stem)
def test_credentials_are_references_never_values(path):
    text = path.read_text(encoding="utf-8")
    cases = yaml.safe_load((GOLDEN / "cases.yml").read_text(encoding="utf-8"))
    secrets = [v for k, v in (cases.get(path.stem) or {}).items()
               if k in ("loki_s3_access_key_id", "loki_s3_secret_access_key", "loki_azure_account_key",
                        "loki_gcs_service_account_json")]
    for secret in secrets:
        assert secret not in text, f"{path.name} holds a credential"
    references = set(re.findall(r"\$\{(\w+)\}", text))
    # Only the references the role writes, each in single quotes (a key with a quote or a line
    # break is refused by the role's preflight), and nothing else Loki's expansion would touch.
    assert references <= {"LOKI_S3_ACCESS_KEY_ID", "LOKI_S3_SECRET_ACCESS_KEY", "LOKI_AZURE_ACCOUNT_KEY"}
    assert text.count("$") == len(re.findall(r"'\$\{\w+\}'", text)), "a $ outside a quoted reference"
    if references:
        # Nothing else Loki's expansion would change: the file Loki parses is the file written.
        without = re.sub(r"'\$\{\w+\}'", "''", text)
        assert expand_env(without, {}) == without


def test_expand_env_model():
    """What the model above does, in the cases that matter (measured with envsubst v1.0.3)."""
    assert expand_env("a: '${A}'\nb: ${B:-x}\nc: ${C}\nd: $D $$ '\\\\d' '\\/' '\\d'", {"A": "v'1"}) == \
        "a: 'v'1'\nb: x\nc: \nd: $D $ '\\d' '/' '\\d'"


def test_targets_are_the_simple_scalable_ones(loki_source):  # pylint: disable=redefined-outer-name
    text = (loki_source / DEPLOYMENT_MODES).read_text(encoding="utf-8")
    documented = set(re.findall(r"`-target=(\w+)`", text))
    assert {"all", "write", "read", "backend"} <= documented, documented
    for path in golden_configurations():
        config = _load(path)
        assert config["target"] in documented
        if config["target"] == "all":
            continue
        # A target other than all is one host of a cluster: memberlist, object storage, and the
        # replication factor of the cluster.
        assert config["common"]["ring"]["kvstore"]["store"] == "memberlist", path.name
        assert config["memberlist"]["join_members"], path.name
        assert config["schema_config"]["configs"][-1]["object_store"] != "filesystem", path.name
        assert config["common"]["replication_factor"] == 3, path.name
        # pkg/loki/modules.go (v3.5.3) compactorAddress: a read target needs compactor_address
        # or compactor_grpc_address ("query filtering for deletes requires ...").
        if config["target"] == "read":
            assert config["common"]["compactor_address"].startswith("http"), path.name
        assert config["common"]["instance_addr"] not in ("127.0.0.1", ""), path.name


def test_readme_example_inventory_is_the_golden_cluster():
    """The README's example group_vars for write/read/backend hosts are the golden ssd_* cases
    (but for the vaulted credentials and each host's own address), so the example is the tested one."""
    readme = (ROOT / "roles" / "loki" / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(# group_vars/loki\.yml.*?)```", readme, re.S)
    assert block, "the README's example inventory (```yaml starting with # group_vars/loki.yml) is missing"
    groups, name = {}, None
    for line in block[1].splitlines():
        header = re.match(r"# group_vars/(\w+)\.yml", line)
        if header:
            name = header[1]
            groups[name] = []
        else:
            groups[name].append(line)
    example = {group: yaml.safe_load("\n".join(lines)) for group, lines in groups.items()}
    assert set(example) == {"loki", "loki_write", "loki_read", "loki_backend"}, set(example)
    cases = yaml.safe_load((GOLDEN / "cases.yml").read_text(encoding="utf-8"))
    vaulted = {"loki_s3_access_key_id", "loki_s3_secret_access_key"}
    for target in ("write", "read", "backend"):
        expected = dict(example["loki"], **example[f"loki_{target}"])
        case = {k: v for k, v in cases[f"ssd_{target}"].items() if k != "loki_instance_addr"}
        assert set(case) == set(expected), (target, set(case) ^ set(expected))
        assert {k: v for k, v in case.items() if k not in vaulted} == \
            {k: v for k, v in expected.items() if k not in vaulted}, target
        assert all("vault_" in expected[k] for k in vaulted), "the README keeps credentials in a vault"
