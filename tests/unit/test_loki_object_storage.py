"""The loki role's S3 settings against a real S3-compatible server, with Loki's own S3 client.

No Loki binary can be had on the test machines, so Loki never runs here. What can be proved
without it is proved with real programs (tests/s3server/build.sh builds both, cached):

* VersityGW (github.com/versity/versitygw, the version build.sh pins; a real S3 server that
  checks SigV4 signatures, serving a directory with its posix backend) runs on loopback, once
  over plain HTTP and once over TLS with a certificate from a private CA made here;
* the role renders its configuration and its environment file through Ansible (the golden
  files' playbook, tests/golden/render.yml) with that endpoint, bucket, region, path-style, TLS
  settings and credentials;
* the environment file is read the way systemd reads an EnvironmentFile (double quotes, with
  \\\\ \\" \\$ \\` escaped; the molecule scenario checks the same file with systemd itself);
* tests/s3server/s3check (Loki v3.5.3's pkg/storage/chunk/client/aws, built from Loki's Go module)
  reads the rendered file as Loki does (expand-env, strict YAML into Loki's own S3 config type,
  Validate) and puts, checks, lists, reads back and deletes a chunk, a TSDB index file and the
  compactor's delete requests, as Loki's chunk store, shipper and compactor would.

And the settings are shown to matter: a wrong secret is refused by the server (403), a TLS
endpoint without the CA file fails certificate verification, a bucket that does not exist is
refused. Virtual-hosted-style requests (loki_s3_force_path_style false) are not exercised: they
need a DNS name per bucket, and the test reaches nothing but loopback.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import pathlib
import secrets
import shutil
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

ROOT = pathlib.Path(__file__).resolve().parents[2]
ROOT_USER = "loki-test"
# Characters the environment file must escape, and ones YAML would otherwise read as syntax;
# not ' nor a line break (the role's preflight refuses those).
SECRET = 'S3cr3t-"q"-$HOME-\\-`x`-#: ' + secrets.token_hex(4)
REGION = "us-east-1"


@pytest.fixture(scope="module")
def tools() -> dict[str, str]:
    proc = subprocess.run(["bash", str(ROOT / "tests" / "s3server" / "build.sh")], capture_output=True, text=True,
                          check=False, timeout=3600)
    assert proc.returncode == 0, f"tests/s3server/build.sh failed:\n{proc.stderr[-4000:]}"
    found = dict(line.split("=", 1) for line in proc.stdout.split() if "=" in line)
    for name in ("TCC_S3_SERVER_BIN", "TCC_S3CHECK_BIN"):
        assert pathlib.Path(found.get(name, "")).is_file(), f"{name} missing from build.sh's output: {proc.stdout}"
    return found


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> dict[str, pathlib.Path]:
    """A private CA, and a server certificate it signed for 127.0.0.1 (certs/public.crt, certs/private.key)."""
    base = tmp_path_factory.mktemp("pki")
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "telemetry.claude_code test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])).issuer_name(ca_name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    certs = base / "certs"
    certs.mkdir()
    (certs / "public.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (certs / "private.key").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                          serialization.PrivateFormat.PKCS8,
                                                          serialization.NoEncryption()))
    (base / "ca.crt").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    return {"certs": certs, "ca": base / "ca.crt"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class S3Server:
    """One VersityGW on loopback serving its own data directory (the posix backend), with the
    root credentials of the test and, with certs, TLS; stopped at the end."""

    def __init__(self, binary: str, base: pathlib.Path, certs: pathlib.Path | None = None, ca: pathlib.Path | None = None):
        self.port = _free_port()
        self.endpoint = f"127.0.0.1:{self.port}"
        self.log = base / "versitygw.log"
        (base / "data").mkdir()
        args = [binary, "--port", self.endpoint, "--quiet", "--region", REGION]
        if certs:
            args += ["--cert", str(certs / "public.crt"), "--key", str(certs / "private.key")]
        args += ["posix", str(base / "data")]
        # The secret through the environment, not the command line (ps would show it).
        env = {"PATH": os.environ.get("PATH", ""), "HOME": str(base), "ROOT_ACCESS_KEY": ROOT_USER,
               "ROOT_SECRET_KEY": SECRET}
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)  # pylint: disable=consider-using-with
        scheme = "https" if certs else "http"
        context = ssl.create_default_context(cafile=str(ca)) if ca else None
        deadline = time.monotonic() + 60
        while True:
            # Live when it answers HTTP(S): an anonymous request is refused (403), as it must be.
            try:
                with urllib.request.urlopen(f"{scheme}://{self.endpoint}/", timeout=2, context=context):
                    break
            except urllib.error.HTTPError:
                break
            except OSError:
                pass
            assert self.proc.poll() is None, f"VersityGW exited: {self.log.read_text(errors='replace')[-2000:]}"
            assert time.monotonic() < deadline, f"VersityGW not answering in 60 s: {self.log.read_text(errors='replace')[-2000:]}"
            time.sleep(0.2)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=20)


@pytest.fixture(scope="module")
def servers(tools, pki, tmp_path_factory):  # pylint: disable=redefined-outer-name
    plain = S3Server(tools["TCC_S3_SERVER_BIN"], tmp_path_factory.mktemp("s3-plain"))
    tls = S3Server(tools["TCC_S3_SERVER_BIN"], tmp_path_factory.mktemp("s3-tls"), certs=pki["certs"], ca=pki["ca"])
    yield {"plain": plain, "tls": tls}
    plain.stop()
    tls.stop()


def _cases(servers, pki) -> dict[str, dict]:  # pylint: disable=redefined-outer-name
    s3 = {"loki_storage_type": "s3", "loki_s3_region": REGION, "loki_s3_force_path_style": True,
          "loki_s3_access_key_id": ROOT_USER, "loki_s3_secret_access_key": SECRET}
    plain = dict(s3, loki_s3_endpoint=servers["plain"].endpoint, loki_s3_insecure=True, loki_s3_bucket="loki-chunks")
    tls = dict(s3, loki_s3_endpoint=servers["tls"].endpoint, loki_s3_ca_file=str(pki["ca"]), loki_s3_bucket="loki-tls")
    return {
        "plain": plain,
        "tls": tls,
        # A backend host of a simple scalable deployment: the same storage block as the others.
        "backend": dict(plain, loki_target="backend", loki_instance_addr="10.0.3.11", loki_grpc_listen_address="0.0.0.0",
                        loki_memberlist_join_members=["10.0.1.11", "10.0.2.11", "10.0.3.11"],
                        loki_replication_factor=3),
        "wrong_secret": dict(plain, loki_s3_secret_access_key=SECRET + "x"),
        "tls_without_ca": dict(tls, loki_s3_ca_file=""),
        "missing_bucket": dict(plain, loki_s3_bucket="no-such-bucket"),
    }


def _render(cases: dict[str, dict], template: str, suffix: str, out: pathlib.Path) -> dict[str, str]:
    """The role's template for each case, rendered by Ansible with the role's defaults and vars."""
    out.mkdir(parents=True, exist_ok=True)
    inventory = {"all": {
        "vars": {"ansible_connection": "local",
                 "ansible_python_interpreter": shutil.which("python") or shutil.which("python3"),
                 "golden_role": "loki", "golden_template": str(ROOT / "roles" / "loki" / "templates" / template),
                 "golden_out": str(out), "golden_suffix": suffix},
        "hosts": cases}}
    (out / "inventory.json").write_text(json.dumps(inventory), encoding="utf-8")
    env = dict(os.environ, ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
               ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="false")
    proc = subprocess.run(["ansible-playbook", "-i", str(out / "inventory.json"), str(ROOT / "tests" / "golden" / "render.yml")],
                          cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=300)
    assert proc.returncode == 0, f"rendering failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}"
    assert SECRET not in proc.stdout + proc.stderr
    return {name: (out / f"{name}{suffix}").read_text(encoding="utf-8") for name in cases}


def parse_environment_file(text: str) -> dict[str, str]:
    """An EnvironmentFile= as systemd reads the role's: NAME="VALUE" lines, # comments; inside
    double quotes a backslash before one of \\ " $ ` stands for that character (systemd.exec(5),
    "EnvironmentFile="; systemd's parse_env_file)."""
    env = {}
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, equals, value = line.partition("=")
        assert equals and value.startswith('"') and value.endswith('"') and len(value) >= 2, f"unexpected line: {line!r}"
        chars, i, body = [], 0, value[1:-1]
        while i < len(body):
            if body[i] == "\\" and i + 1 < len(body) and body[i + 1] in '\\"$`':
                chars.append(body[i + 1])
                i += 2
            else:
                assert body[i] not in '"', f"unescaped quote in {line!r}"
                chars.append(body[i])
                i += 1
        env[name] = "".join(chars)
    return env


@pytest.fixture(scope="module")
def rendered(tools, servers, pki, tmp_path_factory):  # pylint: disable=redefined-outer-name
    cases = _cases(servers, pki)
    out = tmp_path_factory.mktemp("rendered")
    configs = _render(cases, "loki.yml.j2", ".yml", out / "config")
    envs = _render(cases, "loki.env.j2", ".env", out / "env")
    result = {name: {"config": out / "config" / f"{name}.yml", "config_text": configs[name],
                     "env": parse_environment_file(envs[name]), "env_text": envs[name]} for name in cases}
    # Loki never creates its bucket: the operator does, once (here with the same settings).
    for name in ("plain", "tls"):
        created = s3check(tools, result[name], "-create-bucket")
        assert created["ok"], created
    return result


def s3check(tools, case: dict, *args: str) -> dict:  # pylint: disable=redefined-outer-name
    """Loki's S3 client with the rendered file, in the environment systemd would give Loki."""
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/root"), **case["env"]}
    proc = subprocess.run([tools["TCC_S3CHECK_BIN"], "-config", str(case["config"]), *args], env=env,
                          capture_output=True, text=True, check=False, timeout=120)
    lines = proc.stdout.strip().splitlines()
    assert lines, f"s3check printed nothing: {proc.stderr[-2000:]}"
    result = json.loads(lines[-1])
    assert result["ok"] == (proc.returncode == 0), result
    return result


def test_credentials_only_in_the_environment_file(rendered):  # pylint: disable=redefined-outer-name
    for name, case in rendered.items():
        assert SECRET not in case["config_text"], name
        assert "'${LOKI_S3_SECRET_ACCESS_KEY}'" in case["config_text"], name
        assert case["env"]["LOKI_S3_ACCESS_KEY_ID"] == ROOT_USER, name
        expected = SECRET + ("x" if name == "wrong_secret" else "")
        assert case["env"]["LOKI_S3_SECRET_ACCESS_KEY"] == expected, name
    # What the escaping is for: the raw secret's quote and $ do not appear unescaped.
    assert SECRET not in rendered["plain"]["env_text"]


@pytest.mark.parametrize("name", ["plain", "tls", "backend"])
def test_loki_s3_client_stores_and_reads_with_the_rendered_settings(tools, rendered, name):  # pylint: disable=redefined-outer-name
    case = rendered[name]
    result = s3check(tools, case)
    assert result["ok"], result
    aws = yaml.safe_load(case["config_text"])["storage_config"]["aws"]
    # What Loki's client was built with is what the role rendered.
    assert (result["endpoint"], result["bucket"], result["region"]) == (aws["endpoint"], aws["bucketnames"], REGION)
    assert result["path_style"] is True and result["insecure"] is (name != "tls")
    assert result.get("ca_file", "") == aws.get("http_config", {}).get("ca_file", "")
    assert len(result["objects"]) == 3 and all(size > 0 for size in result["objects"].values())
    print(f"\n{name}: Loki's S3 client put, checked, listed, read back and deleted {len(result['objects'])} objects "
          f"({sum(result['objects'].values())} bytes) on VersityGW at {result['endpoint']} in {result['seconds']:.3f} s")


def test_a_wrong_secret_is_refused_by_the_server(tools, rendered):  # pylint: disable=redefined-outer-name
    result = s3check(tools, rendered["wrong_secret"])
    assert not result["ok"] and result["step"].startswith("put ")
    assert "SignatureDoesNotMatch" in result["error"] and "403" in result["error"], result


def test_tls_needs_the_ca_file(tools, rendered):  # pylint: disable=redefined-outer-name
    result = s3check(tools, rendered["tls_without_ca"])
    assert not result["ok"]
    assert "x509: certificate signed by unknown authority" in result["error"], result


def test_a_missing_bucket_is_refused(tools, rendered):  # pylint: disable=redefined-outer-name
    result = s3check(tools, rendered["missing_bucket"])
    assert not result["ok"] and "NoSuchBucket" in result["error"], result
