"""The firewall rules of alertmanager_firewall_enabled, as ufw has saved them.

prepare.yml installs ufw and leaves old rules behind; converge.yml turns the rules on with three
allowed sources. Debian 13 listens on 0.0.0.0:9093 and must have exactly one rule per source, the
old rules of the role gone and the others kept; Debian 14 and 12 listen on loopback and must have
none.

Limits: ufw is never enabled here, by the role (it never enables ufw nor changes its policies)
or by this test. The containers get CAP_NET_ADMIN only so that ufw can read their own iptables
(`ufw status`, which community.general.ufw runs first, needs it). What is checked is the rule
set ufw has saved (`ufw show added`, which works while ufw is inactive), not packet filtering:
no traffic is sent through an enabled firewall.
"""

HEADER = "Added user rules (see 'ufw status' for running firewall):"
COMMENT = "comment 'telemetry.claude_code.alertmanager web'"
# Rules that are not the role's, left by prepare.yml: kept as they are.
OTHERS = [
    "ufw allow 22/tcp",
    "ufw allow from 10.9.9.9 to any port 9090 proto tcp comment 'telemetry.claude_code.prometheus web'",
]
# The role's rules, for 10.1.2.3/8, 192.0.2.10/32 and 2001:DB8::/32 as written in vars/converge.yml.
ROLE_RULES = {
    "tcc-alertmanager-trixie": [
        f"ufw allow from 10.0.0.0/8 to any port 9093 proto tcp {COMMENT}",
        f"ufw allow from 192.0.2.10 to any port 9093 proto tcp {COMMENT}",
        f"ufw allow from 2001:db8::/32 to any port 9093 proto tcp {COMMENT}",
    ],
    "tcc-alertmanager-forky": [],  # listens on 127.0.0.1:9093: nothing to open
    "tcc-alertmanager-bookworm": [],  # the same
}


def test_ufw_has_exactly_the_expected_rules(host):
    lines = host.check_output("ufw show added").splitlines()
    print("\n".join(lines))
    assert lines[0] == HEADER
    expected = OTHERS + ROLE_RULES[host.backend.get_hostname()]
    assert sorted(lines[1:]) == sorted(expected)


def test_ufw_is_left_inactive_with_its_policies(host):
    assert host.check_output("ufw status").strip() == "Status: inactive"
    # `ufw default ...` rewrites /etc/default/ufw, a conffile of the package: dpkg would list it.
    verify = host.run("dpkg --verify ufw")
    assert "/etc/default/ufw" not in verify.stdout, verify.stdout
