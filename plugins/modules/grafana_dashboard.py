#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the telemetry.claude_code collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: grafana_dashboard
short_description: Import a Grafana dashboard and confirm that it imported cleanly
version_added: 0.1.0
description:
  - Imports a dashboard into Grafana by its uid through C(POST /api/dashboards/db), and only
    when it differs from the one Grafana has, so that a second run reports no change.
  - Then confirms the import. It reads the dashboard back by uid and compares it with what was
    sent. It checks that every datasource uid used by panels, queries and template variables
    exists, that each template variable of type C(datasource) finds a datasource of its type,
    and, when asked, that the panel and row counts are right and that every panel's queries
    run and return data.
  - Lints the dashboard offline before any write, in check mode too. The lint checks the JSON,
    the uid, the title, panel ids, the 24-column grid, rows, the keys of each panel's field config
    and datasource references. It parses
    PromQL with C(promtool) and LogQL with Grafana's own grammar when these are available, and
    checks metric names against a catalog. O(lint_only=true) runs only the lint, with no Grafana.
  - With O(confirm_only=true) it writes nothing. Use it for dashboards that Grafana provisions
    from files, which Grafana refuses to overwrite through the API. It confirms that Grafana
    serves the file's dashboard.
  - Grafana stores the JSON as it is sent; on save it sets only C(id), C(uid) and C(version),
    trims the title, and raises a C(refresh) below its C([dashboards] min_refresh_interval).
    The module applies the last two itself before comparing and sending, and warns about them
    (RV(normalised)), so that they never read as a change.
  - The comparison ignores the top-level C(id), C(version) and C(iteration), C(schemaVersion) and
    each panel's C(pluginVersion) (Grafana's frontend rewrites these when someone saves the dashboard
    from the UI, without changing what it shows), and keys whose value is null, an empty list or an
    empty object. Everything else counts, including the order of panels and queries.
  - A dashboard that Grafana provisions from a file is never overwritten or deleted. Since Grafana 12
    C(meta.provisioned) comes from Grafana's search index and can read false right after
    provisioning, so the module also reads the stored object's C(grafana.app/managedBy) annotation
    (C(/apis/dashboard.grafana.app/v1beta1/...)).
author:
  - telemetry.claude_code developers (@telemetry-claude-code)
extends_documentation_fragment:
  - telemetry.claude_code.grafana_auth
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reports what would change and runs the lint and the read-only checks; writes nothing.
  diff_mode:
    support: full
    details: Returns the normalised dashboard and folder before and after.
  platform:
    platforms: posix
  action_group:
    description: Use C(group/telemetry.claude_code.grafana) in C(module_defaults) to set the connection options once.
    support: full
    membership:
      - telemetry.claude_code.grafana
options:
  state:
    description:
      - V(present) imports the dashboard (or, with O(confirm_only), only confirms it).
      - V(absent) deletes the dashboard with uid O(uid) (or the uid of the dashboard given).
    type: str
    choices: [present, absent]
    default: present
  dashboard:
    description:
      - The dashboard, as a dictionary or as JSON text.
      - 'A Grafana export wrapped as C({"dashboard": ..., "meta": ...}) is unwrapped.'
      - Mutually exclusive with O(path).
    type: raw
  path:
    description:
      - A JSON file holding the dashboard, on the host the module runs on.
      - For O(confirm_only), the provisioning file to compare Grafana's copy with.
      - Mutually exclusive with O(dashboard).
    type: path
  uid:
    description:
      - The uid of the dashboard, its only identity. When the dashboard JSON has a different
        uid, this one replaces it.
      - Required when the dashboard JSON has no uid, and for O(state=absent) without a dashboard.
    type: str
  folder_uid:
    description:
      - The uid of the folder to keep the dashboard in. V("") is the General folder.
      - When omitted, a new dashboard goes to the General folder and an existing one stays in its
        folder.
      - A folder that does not exist fails the task, unless O(create_folder=true).
    type: str
  folder_title:
    description:
      - The title of the folder created by O(create_folder). Defaults to O(folder_uid).
      - An existing folder is never renamed.
    type: str
  create_folder:
    description:
      - Create the folder O(folder_uid) when it does not exist.
    type: bool
    default: false
  commit_message:
    description:
      - The commit message of the new dashboard version, shown in Grafana's version history
        (the C(message) of C(POST /api/dashboards/db)).
    type: str
    default: Imported by Ansible (telemetry.claude_code.grafana_dashboard)
  overwrite:
    description:
      - V(true) replaces the dashboard Grafana has, whatever its version.
      - V(false) sends the version that was read, so that a change made by someone else between
        the read and the write fails with a version conflict (HTTP 412) instead of being lost.
    type: bool
    default: true
  confirm_only:
    description:
      - Write nothing. Read the dashboard by uid, compare it with O(dashboard) or O(path) when
        given, and run the confirmation checks.
      - For dashboards provisioned from files (C(meta.provisioned)). A dashboard that is missing
        fails with the likely causes. Grafana only logs a file that fails to load, because of
        invalid JSON, a uid clash, or a provisioning path or permission problem.
    type: bool
    default: false
  wait_timeout:
    description:
      - With O(confirm_only), seconds to wait for Grafana's background provisioning. Grafana
        provisions dashboards (and, since Grafana 12, datasources) after its HTTP API already
        answers, so right after a start or restart a dashboard or datasource can be missing, or an
        older copy still served, for a while.
      - Until this deadline, a missing dashboard (C(provisioned-missing)), confirmation problems of
        kinds C(datasource-missing), C(datasource-variable), C(readback-mismatch) and C(folder-mismatch),
        and an unreachable or failing Grafana are tried again; at the deadline the task fails with the
        last problem and says how long it waited.
      - V(0) confirms once.
    type: int
    default: 0
  min_refresh_interval:
    description:
      - Grafana's C([dashboards] min_refresh_interval). Grafana raises a dashboard C(refresh) below it
        to it on save (through the API and in provisioning); the module does the same to the desired
        dashboard before comparing and sending, and warns, so that a second run reports no change.
      - Set it to the value of the Grafana instance; Grafana's default is V(5s).
    type: str
    default: 5s
  lint:
    description:
      - Lint the dashboard before importing it. Lint errors fail the task before anything is written.
      - Grafana's datasources count as known uids for the datasource rule, as do those of
        O(known_datasource_uids).
    type: bool
    default: true
  lint_only:
    description:
      - Only lint the dashboard, offline. Grafana is not contacted and O(url) is not needed.
        O(state) and O(confirm_only) are ignored.
      - Fails when the lint finds an error. Notes of kind C(lint-skipped) do not fail.
    type: bool
    default: false
  known_datasource_uids:
    description:
      - Datasource uids that the dashboard may reference directly, instead of through a
        C(${variable}) of a datasource template variable.
    type: list
    elements: str
    default: []
  metric_catalog:
    description:
      - The metric names that PromQL queries may use. A name outside it is a lint error.
      - The histogram and summary suffixes C(_bucket), C(_sum) and C(_count) of a listed name are
        allowed. Entries with C(*) or C(?) are shell patterns. Prometheus' own series (C(up),
        C(ALERTS), C(scrape_*)) are always allowed.
      - When omitted, metric names are not checked.
    type: list
    elements: str
  promtool_path:
    description:
      - The C(promtool) that parses and type-checks PromQL queries. The queries, with Grafana
        variables replaced by representative values, become recording rules for
        C(promtool check rules).
      - When omitted, C(promtool) is looked up on E(PATH). When there is none, the PromQL part of
        the lint is skipped with a C(lint-skipped) note.
    type: path
  logql_parser:
    description:
      - The path of the collection's C(tests/lint/logql_parse.mjs). Node runs it with Grafana's
        C(@grafana/lezer-logql) grammar to parse LogQL queries. C(tests/lint/setup.sh) installs
        the grammar.
      - When omitted, the LogQL part of the lint is skipped with a C(lint-skipped) note.
    type: path
  expect_panels:
    description:
      - The number of panels (rows not counted, panels inside collapsed rows counted) the
        dashboard must have.
    type: int
  expect_rows:
    description:
      - The number of rows the dashboard must have.
    type: int
  query_check:
    description:
      - Run each panel's queries through Grafana (C(POST /api/ds/query)) over O(query_window).
        Report the queries that fail (C(query-error)) or return no data (C(query-no-data)).
      - Dashboard variables are replaced by their current values, as Grafana's frontend would.
      - Runs in check mode too, since it only reads.
    type: bool
    default: false
  query_window:
    description:
      - The start of the time range of O(query_check), in Grafana's syntax; the range ends now.
    type: str
    default: now-1h
  query_check_mode:
    description:
      - V(fail) fails the task on a query problem. V(warn) only reports it in RV(problems) and as a
        warning.
    type: str
    choices: [fail, warn]
    default: fail
notes:
  - The module runs on the target host, so O(path), O(promtool_path) and O(logql_parser) name
    files there. Delegate to the control node to use its files and tools.
  - Better than importing blindly. A run that changes nothing writes nothing and reports no
    change. Check mode is supported. The dashboard is read back and checked after the write.
seealso:
  - name: Grafana dashboard HTTP API
    description: The endpoints this module uses.
    link: https://grafana.com/docs/grafana/latest/developers/http_api/dashboard/
  - name: Grafana provisioning
    description: Dashboards provisioned from files, which O(confirm_only) confirms.
    link: https://grafana.com/docs/grafana/latest/administration/provisioning/#dashboards
"""

EXAMPLES = r"""
- name: Import the Claude Code dashboard and confirm it
  telemetry.claude_code.grafana_dashboard:
    url: http://127.0.0.1:3000
    grafana_api_key: "{{ grafana_token }}"
    path: /etc/grafana/dashboards/claude-code.json
    folder_uid: claude-code
    folder_title: Claude Code
    create_folder: true
    commit_message: "Deployed by {{ ansible_play_name }}"
    expect_panels: 12
    expect_rows: 3

- name: Set the connection once for every Grafana module of the collection
  module_defaults:
    group/telemetry.claude_code.grafana:
      url: https://grafana.example.com
      url_username: admin
      url_password: "{{ grafana_admin_password }}"
      org_id: 2
      ca_path: /etc/ssl/certs/internal-ca.pem
  block:
    - name: Import a dashboard given inline
      telemetry.claude_code.grafana_dashboard:
        dashboard: "{{ lookup('ansible.builtin.file', 'dashboards/cost.json') | from_json }}"
        query_check: true
        query_window: now-6h
        query_check_mode: warn

    - name: Remove an old dashboard
      telemetry.claude_code.grafana_dashboard:
        uid: claude-code-legacy
        state: absent

- name: Confirm that Grafana loaded a provisioned dashboard from its file
  telemetry.claude_code.grafana_dashboard:
    url: http://127.0.0.1:3000
    grafana_api_key: "{{ grafana_token }}"
    path: /var/lib/grafana/dashboards/claude-code.json
    confirm_only: true
    wait_timeout: 120
    query_check: true

- name: Lint a dashboard on the control node, with no Grafana
  delegate_to: localhost
  telemetry.claude_code.grafana_dashboard:
    path: "{{ playbook_dir }}/files/claude-code.json"
    lint_only: true
    promtool_path: "{{ lookup('ansible.builtin.env', 'TCC_PROMTOOL') }}"
    logql_parser: "{{ playbook_dir }}/../tests/lint/logql_parse.mjs"
    metric_catalog:
      - claude_code_cost_usage_USD_total
      - claude_code_token_usage_tokens_total
    known_datasource_uids: [prometheus, loki]
"""

RETURN = r"""
uid:
  description: The uid of the dashboard.
  returned: always
  type: str
  sample: claude-code-usage
url:
  description: The absolute URL of the dashboard in Grafana.
  returned: when the dashboard exists in Grafana
  type: str
  sample: http://127.0.0.1:3000/d/claude-code-usage/claude-code-usage
version:
  description: The version of the dashboard in Grafana after the task (the one read back).
  returned: when the dashboard exists in Grafana or was given
  type: int
  sample: 4
panels:
  description: The number of panels of the dashboard, rows not counted.
  returned: when a dashboard was found or given
  type: int
  sample: 12
rows:
  description: The number of rows of the dashboard.
  returned: when a dashboard was found or given
  type: int
  sample: 3
problems:
  description:
    - What the lint and the confirmation found. Each kind except C(lint-skipped) is an error.
    - Lint kinds are C(invalid-json), C(uid), C(title), C(panel-id), C(grid-pos),
      C(grid-overlap), C(row-structure), C(field-config), C(datasource), C(promql), C(logql),
      C(metric-catalog) and C(lint-skipped).
    - C(field-config) is a key of a panel's C(fieldConfig) that Grafana's schema does not have where
      it stands (Grafana ignores it), such as a timeseries' C(thresholdsStyle) outside C(custom), or a
      C(suffix:) unit whose text starts with a space.
    - Confirmation kinds are C(readback-mismatch), C(folder-mismatch), C(datasource-missing),
      C(datasource-type), C(datasource-variable), C(panel-count), C(row-count), C(query-error)
      and C(query-no-data).
  returned: always
  type: list
  elements: dict
  contains:
    panel:
      description: The panel, row, template variable or annotation concerned, or null for the whole dashboard.
      type: str
      sample: panel 4 "Cost per model"
    kind:
      description: The kind of problem.
      type: str
      sample: datasource-missing
    message:
      description: What is wrong, and what to do about it.
      type: str
      sample: datasource 'prom-old' does not exist in Grafana (GET /api/datasources/uid/prom-old answered 404)
differences:
  description: The paths where Grafana's dashboard differed from the one asked for, before the task.
  returned: when Grafana was compared with a dashboard
  type: list
  elements: str
  sample: ["panels[1].targets[0].expr", "title"]
folder_uid:
  description: The uid of the dashboard's folder; an empty string is the General folder.
  returned: when state is present and Grafana was contacted
  type: str
  sample: claude-code
folder_created:
  description: Whether the folder was created (or, in check mode, would be).
  returned: when the folder was created
  type: bool
  sample: true
provisioned:
  description: Whether Grafana provisions the dashboard from a file.
  returned: when state is present and Grafana was contacted
  type: bool
  sample: false
normalised:
  description: What the module changed in the desired dashboard as Grafana would on save (a trimmed title, a raised refresh).
  returned: when something was normalised
  type: list
  elements: str
  sample: ["refresh '1s' is below Grafana's min_refresh_interval '5s', to which Grafana raises it on save: compared and sent as '5s'"]
grafana_version:
  description: The version of Grafana, from C(/api/health).
  returned: when state is present and Grafana was contacted
  type: str
  sample: 11.3.0
error:
  description:
    - Why the task failed, as a kind to act on.
    - V(unreachable), V(tls) and V(timeout) mean that Grafana could not be reached.
      V(unauthorized) (401) and V(forbidden) (403) mean that the credentials or the permissions are wrong.
    - V(folder-not-found) means that the folder does not exist (C(GET /api/folders) answered 404), or
      that it was deleted before the save (C(POST /api/dashboards/db) answered 400 C(folder not found)).
    - V(version-conflict) means that someone else changed the dashboard since it was read, with
      O(overwrite=false). Grafana 11 and 12 answer 412 C(version-mismatch), newer Grafana 409.
      Titles need not be unique since Grafana 11.3, so a second dashboard with the same title is no conflict.
    - V(plugin-dashboard) (412) means that the dashboard belongs to a plugin.
    - V(v2-dashboard) (406) means that the dashboard is stored in Grafana's v2 schema, which
      C(/api/dashboards/uid/...) refuses; the module manages classic (v1) JSON only.
    - V(provisioned) means that Grafana provisions the dashboard from a file, so the module refuses to
      overwrite or delete it (and so would Grafana).
      V(provisioned-missing) means that O(confirm_only) found no dashboard (after O(wait_timeout)).
    - V(invalid-dashboard) means that the lint found errors or Grafana answered 400.
      V(confirm-failed) means that the confirmation found problems.
    - V(bad-parameters), V(conflict), V(not-found), V(server-error), V(bad-response) and
      V(http-error) are the other failures.
  returned: failure
  type: str
  sample: version-conflict
status:
  description: The HTTP status of the failed call to Grafana.
  returned: failure, when Grafana answered
  type: int
  sample: 412
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.telemetry.claude_code.plugins.module_utils.dashboard import (
    QUERY_KINDS,
    DashboardFailure,
    run,
)
from ansible_collections.telemetry.claude_code.plugins.module_utils.grafana_api import (
    GRAFANA_MUTUALLY_EXCLUSIVE,
    GRAFANA_REQUIRED_TOGETHER,
    GrafanaClient,
    GrafanaError,
    grafana_argument_spec,
)


def argument_spec():
    spec = grafana_argument_spec()
    spec.update(
        state=dict(type="str", default="present", choices=["present", "absent"]),
        dashboard=dict(type="raw"),
        path=dict(type="path"),
        uid=dict(type="str"),
        folder_uid=dict(type="str"),
        folder_title=dict(type="str"),
        create_folder=dict(type="bool", default=False),
        commit_message=dict(type="str", default="Imported by Ansible (telemetry.claude_code.grafana_dashboard)"),
        overwrite=dict(type="bool", default=True),
        confirm_only=dict(type="bool", default=False),
        lint=dict(type="bool", default=True),
        lint_only=dict(type="bool", default=False),
        known_datasource_uids=dict(type="list", elements="str", default=[]),
        metric_catalog=dict(type="list", elements="str"),
        promtool_path=dict(type="path"),
        logql_parser=dict(type="path"),
        expect_panels=dict(type="int"),
        expect_rows=dict(type="int"),
        query_check=dict(type="bool", default=False),
        query_window=dict(type="str", default="now-1h"),
        query_check_mode=dict(type="str", default="fail", choices=["fail", "warn"]),
        wait_timeout=dict(type="int", default=0),
        min_refresh_interval=dict(type="str", default="5s"),
    )
    return spec


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        supports_check_mode=True,
        mutually_exclusive=GRAFANA_MUTUALLY_EXCLUSIVE + [("dashboard", "path")],
        required_together=GRAFANA_REQUIRED_TOGETHER,
        required_if=[("lint_only", False, ["url"])],
    )
    params = module.params
    try:
        client = None if params["lint_only"] else GrafanaClient.from_params(params)
        result = run(params, client, check_mode=module.check_mode, diff_mode=module._diff)
    except DashboardFailure as exc:
        module.fail_json(msg=exc.message, error=exc.kind, **exc.result)
    except GrafanaError as exc:
        module.fail_json(msg=exc.message, error=exc.kind, status=exc.status, changed=False, problems=[])

    for note in result.get("normalised") or []:
        module.warn(note)
    for item in result["problems"]:
        if item["kind"] == "lint-skipped" or item["kind"] in QUERY_KINDS:
            module.warn("%s%s: %s" % (item["kind"], " (%s)" % item["panel"] if item["panel"] else "", item["message"]))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
