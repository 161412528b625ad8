# -*- coding: utf-8 -*-
# Copyright: telemetry.claude_code developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""local_address and cli_flags: the two helpers every role used to spell out with regexes."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.telemetry.claude_code.plugins.filter.cli_flags import cli_flags
from ansible_collections.telemetry.claude_code.plugins.filter.local_address import local_address


@pytest.mark.parametrize("value,expected", [
    ("0.0.0.0:9090", "127.0.0.1:9090"),
    ("[::]:9093", "127.0.0.1:9093"),
    (":3100", "127.0.0.1:3100"),
    ("127.0.0.1:3000", "127.0.0.1:3000"),
    ("10.1.2.3:4318", "10.1.2.3:4318"),
    ("[2001:db8::1]:9090", "[2001:db8::1]:9090"),
    ("prometheus.example.com:9090", "prometheus.example.com:9090"),
    (" 0.0.0.0:9090 ", "127.0.0.1:9090"),
])
def test_local_address(value, expected):
    assert local_address(value) == expected


@pytest.mark.parametrize("value,host,expected", [
    ("0.0.0.0:9090", "backend.example.internal", "backend.example.internal:9090"),
    ("[::]:3100", "10.0.0.5", "10.0.0.5:3100"),
    (":9090", "2001:db8::5", "[2001:db8::5]:9090"),
    ("10.1.2.3:9090", "backend.example.internal", "10.1.2.3:9090"),
    ("0.0.0.0:9090", "", "127.0.0.1:9090"),
])
def test_local_address_seen_from_another_host(value, host, expected):
    assert local_address(value, host=host) == expected


def test_local_address_refuses_a_host_with_spaces():
    with pytest.raises(AnsibleFilterError):
        local_address("0.0.0.0:9090", host="a b")


def test_local_address_refuses_a_non_string():
    with pytest.raises(AnsibleFilterError):
        local_address(9090)


def test_cli_flags_in_order_with_bare_empty_and_repeated_flags():
    flags = {"config.file": "/etc/prometheus/prometheus.yml", "web.enable-lifecycle": True, "debug": False,
             "cluster.listen-address": "", "log.level": None, "cluster.peer": ["a:9094", "b:9094"], "n": 3}
    assert cli_flags(flags) == ["--config.file=/etc/prometheus/prometheus.yml", "--web.enable-lifecycle",
                                "--cluster.listen-address=", "--cluster.peer=a:9094", "--cluster.peer=b:9094",
                                "--n=3"]


def test_cli_flags_refuses_a_list():
    with pytest.raises(AnsibleFilterError):
        cli_flags(["--a"])
