# -*- coding: utf-8 -*-
# Copyright: contributors to the telemetry.claude_code collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection and authentication options of the collection's Grafana modules."""

from __future__ import annotations


class ModuleDocFragment:
    """Options shared by the modules of the action group telemetry.claude_code.grafana."""

    DOCUMENTATION = r"""
options:
  url:
    description:
      - The base URL of Grafana, with its sub-path if Grafana is served under one,
        for example V(http://127.0.0.1:3000) or V(https://example.com/grafana).
      - Required unless O(lint_only=true).
    type: str
    aliases: [grafana_url]
  grafana_api_key:
    description:
      - "A Grafana service-account token, sent as C(Authorization: Bearer <token>)."
      - A token belongs to one organisation; O(org_id) cannot take it to another.
      - Mutually exclusive with O(url_username) and O(url_password).
    type: str
    aliases: [token]
  url_username:
    description:
      - The user for HTTP basic authentication, when no O(grafana_api_key) is given.
      - The credentials are sent with the first request (no challenge round trip).
    type: str
    aliases: [grafana_user]
  url_password:
    description:
      - The password of O(url_username).
    type: str
    aliases: [grafana_password]
  org_id:
    description:
      - The numeric id of the Grafana organisation to work in, sent as the
        C(X-Grafana-Org-Id) header of each request.
      - The caller's current organisation is never switched (no C(/api/user/using) call),
        so other sessions of the same user are not affected.
      - When omitted, Grafana uses the token's organisation, or the user's current one.
    type: int
  validate_certs:
    description:
      - Whether to verify Grafana's TLS certificate. Set to V(false) only for a test instance
        with a self-signed certificate; prefer O(ca_path).
    type: bool
    default: true
  ca_path:
    description:
      - A PEM file of the CA certificate(s) that signed Grafana's certificate.
    type: path
  client_cert:
    description:
      - A PEM client certificate for mutual TLS (with O(client_key), unless the file holds both).
    type: path
  client_key:
    description:
      - The PEM private key of O(client_cert).
    type: path
  use_proxy:
    description:
      - Whether to use the proxy of the environment (C(https_proxy), C(http_proxy), C(no_proxy)).
    type: bool
    default: true
  timeout:
    description:
      - Seconds to wait for each answer from Grafana.
    type: int
    default: 30
notes:
  - All of these options can be set once for every module of the collection that talks to Grafana
    with C(module_defaults) and the action group C(group/telemetry.claude_code.grafana).
"""
