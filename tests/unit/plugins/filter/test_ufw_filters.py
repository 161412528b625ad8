# -*- coding: utf-8 -*-
# Copyright: telemetry.claude_code developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ufw filters agree with what ufw 0.36 prints (outputs recorded from Debian 12's ufw)."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.telemetry.claude_code.plugins.filter.ufw_added_rules import ufw_added_rules
from ansible_collections.telemetry.claude_code.plugins.filter.ufw_source import ufw_source

# `ufw show added` after `ufw allow from <input> to any port 9093 proto tcp` with the inputs of
# test_source_matches_ufw, plus rules of other shapes (recorded with ufw 0.36.2).
SHOW_ADDED = """\
Added user rules (see 'ufw status' for running firewall):
ufw allow 22/tcp
ufw allow from 192.0.2.10 to any port 9093 proto tcp comment 'telemetry.claude_code.alertmanager web'
ufw allow from 10.0.0.0/8 to any port 9093 proto tcp comment 'c 10.1.2.3/8'
ufw allow 9093/tcp comment 'c any'
ufw allow from 10.9.0.0/16 to any port 9094 comment 'no proto'
ufw deny from 203.0.113.0/24 to any port 9093 proto udp
ufw allow 9999 comment 'telemetry.claude_code.alertmanager old'
ufw allow from 2001:db8::/32 to any port 9093 proto tcp comment 'c 2001:DB8::/32'
ufw allow from 2001:db8::1 to any port 9093 proto tcp comment 'c 2001:db8:0:0::1/128'
ufw allow in on eth0 from 10.0.0.1 to any port 80 proto tcp
ufw route allow from 10.0.0.0/8 to any port 80
ufw allow OpenSSH
"""


@pytest.mark.parametrize("given, printed", [
    ("192.0.2.10/32", "192.0.2.10"),
    ("192.0.2.10", "192.0.2.10"),
    ("10.1.2.3/8", "10.0.0.0/8"),
    (" 172.16.0.0/12 ", "172.16.0.0/12"),
    ("2001:DB8::/32", "2001:db8::/32"),
    ("2001:db8:0:0::1/128", "2001:db8::1"),
    ("any", "any"),
])
def test_source_matches_ufw(given, printed):
    assert ufw_source(given) == printed


@pytest.mark.parametrize("given", ["", "anywhere", "10.0.0.0/33", "10.0.0", "0.0.0.0/0", "::/0", "host.example", 10, None])
def test_bad_sources_are_refused(given):
    with pytest.raises(AnsibleFilterError):
        ufw_source(given)
    assert ufw_source(given, invalid="") == ""


def test_zero_prefix_says_to_write_any():
    with pytest.raises(AnsibleFilterError, match="write `any`"):
        ufw_source("0.0.0.0/0")


def test_added_rules_are_parsed():
    rules = ufw_added_rules(SHOW_ADDED)
    assert [r["key"] for r in rules] == [
        "any 22/tcp",
        "192.0.2.10 9093/tcp",
        "10.0.0.0/8 9093/tcp",
        "any 9093/tcp",
        "10.9.0.0/16 9094/any",
        "203.0.113.0/24 9093/udp",
        "any 9999/any",
        "2001:db8::/32 9093/tcp",
        "2001:db8::1 9093/tcp",
    ]
    assert rules[1] == {
        "rule": "allow", "src": "192.0.2.10", "port": "9093", "proto": "tcp",
        "comment": "telemetry.claude_code.alertmanager web", "key": "192.0.2.10 9093/tcp",
    }
    assert rules[0]["comment"] == ""
    assert rules[5]["rule"] == "deny"
    assert rules[6]["comment"] == "telemetry.claude_code.alertmanager old"


def test_added_rules_accepts_lines_and_nothing():
    assert ufw_added_rules(SHOW_ADDED.splitlines()) == ufw_added_rules(SHOW_ADDED)
    assert ufw_added_rules("Added user rules (see 'ufw status' for running firewall):\n(None)\n") == []
    with pytest.raises(AnsibleFilterError):
        ufw_added_rules(None)
