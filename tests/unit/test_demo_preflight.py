"""tests/demo/preflight.py: where each component of the demo comes from, decided before deploying.

The preflight reads the roles' own install tasks and variables; these tests check that what it
reads is what the roles install (URLs, file names, variables), and how it decides: a named
local directory (its archive checked against its checksum file), the controller's release
cache, a download (a real HTTP server on loopback), then the fallbacks (package, build) or a
stop that names the missing release and the one variable that supplies it.
"""

from __future__ import annotations

import hashlib
import http.server
import importlib.util
import io
import pathlib
import threading

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
_SPEC = importlib.util.spec_from_file_location("tcc_demo_preflight", ROOT / "tests" / "demo" / "preflight.py")
preflight = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(preflight)

ARCH = "x86_64"


def offline(url):
    return "cannot resolve the host name (test: offline)"


def online(url):
    return None


def _by_role(rows):
    return dict((r["role"], r) for r in rows)


def test_reads_the_roles_release_layout():
    loki = preflight.component(ROOT, "loki", {}, ARCH)
    assert loki["method"] == "archive"
    assert loki["archive_url"] == "https://github.com/grafana/loki/releases/download/v%s/loki-linux-amd64.zip" % loki["version"]
    assert loki["checksums_name"] == "SHA256SUMS"
    assert loki["local_dir_var"] == "loki_archive_local_dir"
    grafana = preflight.component(ROOT, "grafana", {}, ARCH)
    assert grafana["archive_name"] == "grafana-%s.linux-amd64.tar.gz" % grafana["version"]
    assert grafana["checksums_name"] == grafana["archive_name"] + ".sha256"
    otel = preflight.component(ROOT, "otel_collector", {}, ARCH)
    assert otel["name"] == "otelcol"
    assert otel["checksums_name"] == "opentelemetry-collector-releases_otelcol-contrib_checksums.txt"
    prometheus = preflight.component(ROOT, "prometheus", {"prometheus_version": "9.9.9"}, ARCH)
    assert prometheus["archive_url"].endswith("/v9.9.9/prometheus-9.9.9.linux-amd64.tar.gz")


def test_every_archive_variable_named_exists_in_the_roles_defaults():
    for role, _title, _fallback in preflight.COMPONENTS:
        defaults = preflight.role_vars(ROOT / "roles" / role)[0]
        info = preflight.component(ROOT, role, {}, ARCH)
        assert info["local_dir_var"] in defaults
        assert info["install_method_var"] in defaults
    for role in preflight.SKIPPABLE:
        assert role + "_skip_install" in preflight.role_vars(ROOT / "roles" / role)[0]


def test_offline_grafana_and_loki_are_missing_and_the_others_fall_back(tmp_path):
    rows = _by_role(preflight.decide(ROOT, {}, [], tmp_path, ARCH, fetch=offline))
    assert rows["grafana"]["source"] is None and rows["loki"]["source"] is None
    assert rows["prometheus"]["source"] == "package"
    assert rows["prometheus"]["vars"] == {"prometheus_install_method": "package"}
    assert rows["alertmanager"]["vars"] == {"alertmanager_install_method": "package"}
    assert rows["otel_collector"]["source"] == "build"
    assert rows["otel_collector"]["vars"] == {"otel_collector_install_method": "binary"}
    out = io.StringIO()
    preflight.report(list(rows.values()), out=out)
    text = out.getvalue()
    assert "Nothing was deployed" in text
    assert "supply with  loki_archive_local_dir=DIR" in text
    assert "supply with  grafana_archive_local_dir=DIR" in text
    assert "tests/harness.sh deploy -e loki_archive_local_dir=DIR -e grafana_archive_local_dir=DIR" in text
    assert "tests/harness.sh deploy --without loki,grafana" in text


def test_online_everything_is_the_pinned_release(tmp_path):
    rows = preflight.decide(ROOT, {}, [], tmp_path, ARCH, fetch=online)
    assert [r["source"] for r in rows] == ["download"] * len(rows)
    assert all(r["vars"] == {} for r in rows)


def test_without_skips_only_the_binary_install_and_says_so(tmp_path):
    rows = _by_role(preflight.decide(ROOT, {}, ["grafana", "loki"], tmp_path, ARCH, fetch=offline))
    assert rows["grafana"]["vars"] == {"grafana_skip_install": True}
    assert rows["loki"]["vars"] == {"loki_skip_install": True}
    out = io.StringIO()
    preflight.report(list(rows.values()), out=out)
    assert "will NOT run" in out.getvalue()
    assert "Nothing was deployed" not in out.getvalue()


def _release_dir(path, info, content=b"release bytes", checksum=None):
    path.mkdir(parents=True, exist_ok=True)
    (path / info["archive_name"]).write_bytes(content)
    digest = checksum or hashlib.sha256(content).hexdigest()
    (path / info["checksums_name"]).write_text("%s  %s\n" % (digest, info["archive_name"]), encoding="utf-8")
    return path


def test_a_local_directory_is_used_when_its_archive_matches(tmp_path):
    info = preflight.component(ROOT, "loki", {}, ARCH)
    local = _release_dir(tmp_path / "loki", info)
    rows = _by_role(preflight.decide(ROOT, {"loki_archive_local_dir": str(local)}, [], tmp_path / "cache", ARCH,
                                     fetch=offline))
    assert rows["loki"]["source"] == "local"


def test_a_local_directory_with_a_wrong_archive_stops_the_run(tmp_path):
    info = preflight.component(ROOT, "loki", {}, ARCH)
    local = _release_dir(tmp_path / "loki", info, checksum="0" * 64)
    rows = _by_role(preflight.decide(ROOT, {"loki_archive_local_dir": str(local)}, [], tmp_path / "cache", ARCH,
                                     fetch=online))
    assert rows["loki"]["source"] is None
    assert "but SHA256SUMS says" in rows["loki"]["tried"][0][1]


def test_the_controllers_release_cache_counts(tmp_path):
    info = preflight.component(ROOT, "grafana", {}, ARCH)
    _release_dir(tmp_path / "cache" / "grafana" / info["version"], info)
    rows = _by_role(preflight.decide(ROOT, {}, [], tmp_path / "cache", ARCH, fetch=offline))
    assert rows["grafana"]["source"] == "cache"


def test_checksum_files_are_read_like_the_common_role():
    assert preflight.sha256_from_checksums("abc  other.zip\ndef  *x.zip\n", "x.zip") == "def"
    assert preflight.sha256_from_checksums("abc  ./x.zip\n", "x.zip") == "abc"
    assert preflight.sha256_from_checksums("ABC\n", "x.tar.gz") == "abc"
    assert preflight.sha256_from_checksums("abc  other.zip\n", "x.zip") is None


def test_extra_vars_are_read_like_ansible_playbook(tmp_path):
    varsfile = tmp_path / "v.yml"
    varsfile.write_text("loki_archive_local_dir: /from/file\n", encoding="utf-8")
    got = preflight.parse_extra_vars(["a=1 b='two words'", '{"c": 3}', "@%s" % varsfile])
    assert got == {"a": "1", "b": "two words", "c": 3, "loki_archive_local_dir": "/from/file"}
    with pytest.raises(preflight.PreflightError):
        preflight.parse_extra_vars(["novalue"])


@pytest.fixture()
def http_server():
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_HEAD(self):  # noqa: N802 (http.server's naming)
            self.send_response(200 if self.path == "/there" else 404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d" % server.server_address[1]
    server.shutdown()


def test_try_url_asks_a_real_server(http_server):
    assert preflight.try_url(http_server + "/there") is None
    assert preflight.try_url(http_server + "/missing") == "HTTP 404 Not Found"
    assert "resolve" in preflight.try_url("http://host.invalid/x")
