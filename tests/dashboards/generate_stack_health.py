"""Generate files/dashboards/claude-code-stack-health.json: is the telemetry stack itself healthy?

Every component up; the collector's accepted, refused, failed and sent points and records and
its queues; Prometheus head series, TSDB size, rule evaluation; Loki ingestion and discarded
samples; Alertmanager. Run after changing a panel:

    python3 tests/dashboards/generate_stack_health.py

The series are the components' own (docs/telemetry.md, "The stack's own metrics"). Failure
counters exist only once something failed: those queries fall back to 0 for every exporter or
receiver that is reporting (`or ... * 0`), so a healthy stack shows 0, and a collector that is
not scraped at all shows "No data" (and is red in the Components row).
"""

from __future__ import annotations

from common import (  # pylint: disable=import-error
    Layout, dashboard, dashboard_links, field, stat_options, target, thresholds, timeseries_options, ts_field, write,
)

layout = Layout()
JOBS = "prometheus|alertmanager|otel-collector|claude_code|loki|grafana"
COL = '{job="otel-collector"}'
PROMETHEUS = '{job="prometheus"}'


def rate(metric, by, selector=COL):
    return f"sum by ({by}) (rate({metric}{selector}[$__rate_interval]))"


def failures(metric, reporting, by):
    """Rate of a failure counter, 0 for every group that reports `reporting` but never failed."""
    return f"{rate(metric, by)} or ({rate(reporting, by)} * 0)"


def graph(title, description, targets, unit, decimals=1, **extra):
    return {"type": "timeseries", "title": title, "description": description, "targets": targets,
            "fieldConfig": ts_field(unit, decimals, **extra), "options": timeseries_options(["mean", "max", "last"])}


def up_stat():
    mappings = [{"type": "value", "options": {"0": {"text": "DOWN", "color": "red", "index": 0},
                                              "1": {"text": "UP", "color": "green", "index": 1}}}]
    fieldconfig = field("none", 0, no_value="not scraped", mappings=mappings)
    fieldconfig["defaults"]["thresholds"] = thresholds(("green", 1), base="red")
    return {"type": "stat", "title": "Components",
            "description": "Whether Prometheus can scrape each component (up). claude_code is the collector's "
                           "Prometheus exporter, where Claude Code's metrics are read; otel-collector is the "
                           "collector's own telemetry.",
            "targets": [target(f'up{{job=~"{JOBS}"}}', instant=True, legend="{{job}} {{instance}}")],
            "fieldConfig": fieldconfig, "options": stat_options("value_and_name")}


# ---------------------------------------------------------------- 1. Components
layout.row("Components")
layout.add(5, [(24, up_stat())])

# ---------------------------------------------------------------- 2. Collector: receiving
layout.row("Collector: Receiving")
layout.add(8, [
    (8, graph("Accepted", "Metric points and log records per second the collector's OTLP receivers accepted, by "
              "transport.",
              [target(rate("otelcol_receiver_accepted_metric_points", "receiver, transport"), "A",
                      "metric points {{transport}}"),
               target(rate("otelcol_receiver_accepted_log_records", "receiver, transport"), "B",
                      "log records {{transport}}")], "short", 2)),
    (8, graph("Refused", "Points and records per second the receivers refused (the memory limiter refuses data "
              "when the collector is short of memory; the client retries). 0 is healthy.",
              [target(failures("otelcol_receiver_refused_metric_points", "otelcol_receiver_accepted_metric_points",
                               "receiver, transport"), "A", "metric points {{transport}}"),
               target(failures("otelcol_receiver_refused_log_records", "otelcol_receiver_accepted_log_records",
                               "receiver, transport"), "B", "log records {{transport}}")], "short", 2)),
    (8, graph("Failed", "Points and records per second the receivers failed to pass on (an error inside the "
              "pipeline). 0 is healthy.",
              [target(failures("otelcol_receiver_failed_metric_points", "otelcol_receiver_accepted_metric_points",
                               "receiver, transport"), "A", "metric points {{transport}}"),
               target(failures("otelcol_receiver_failed_log_records", "otelcol_receiver_accepted_log_records",
                               "receiver, transport"), "B", "log records {{transport}}")], "short", 2)),
])

# ---------------------------------------------------------------- 3. Collector: exporting
layout.row("Collector: Exporting")
layout.add(8, [
    (6, graph("Sent", "Metric points handed to the Prometheus exporter and log records delivered to Loki, per "
              "second.",
              [target(rate("otelcol_exporter_sent_metric_points", "exporter"), "A", "{{exporter}} metric points"),
               target(rate("otelcol_exporter_sent_log_records", "exporter"), "B", "{{exporter}} log records")],
              "short", 2)),
    (6, graph("Send Failed", "Points and records per second an exporter gave up on (after its retries): that data "
              "is lost. 0 is healthy.",
              [target(failures("otelcol_exporter_send_failed_metric_points", "otelcol_exporter_sent_metric_points",
                               "exporter"), "A", "{{exporter}} metric points"),
               target(failures("otelcol_exporter_send_failed_log_records", "otelcol_exporter_sent_log_records",
                               "exporter"), "B", "{{exporter}} log records")], "short", 2)),
    (6, graph("Queue Fill", "How full each exporter's sending queue is (size / capacity). The Loki exporter's queue "
              "fills while Loki is down and drains when it is back; at 100% new data is dropped.",
              [target("max by (exporter, data_type) (otelcol_exporter_queue_size" + COL
                      + " / (otelcol_exporter_queue_capacity" + COL + " > 0))", legend="{{exporter}} {{data_type}}")],
              "percentunit", 1, min=0, max=1)),
    (6, graph("Collector Memory", "Resident memory of each collector process; the memory limiter starts refusing "
              "data near otel_collector_memory_limit_mib.",
              [target("otelcol_process_memory_rss" + COL, legend="{{instance}}")], "bytes", 0)),
])
layout.panels[-2]["fieldConfig"]["defaults"]["thresholds"] = thresholds(("yellow", 0.5), ("red", 0.8))
layout.panels[-2]["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"] = {"mode": "line"}

# ---------------------------------------------------------------- 4. Prometheus
layout.row("Prometheus")
rule_failures = (f"sum by (rule_group) (rate(prometheus_rule_evaluation_failures_total{PROMETHEUS}[$__rate_interval]))"
                 f" or (sum by (rule_group) (rate(prometheus_rule_evaluations_total{PROMETHEUS}"
                 f"[$__rate_interval])) * 0)")
layout.add(8, [
    (5, {"type": "stat", "title": "Head Series",
         "description": "Series in Prometheus's head block (the last ~2 hours). Every Claude Code session adds "
                        "series while session_id is kept.",
         "targets": [target("sum(prometheus_tsdb_head_series" + PROMETHEUS + ")", instant=True, legend="Series")],
         "fieldConfig": field("short", 0, [("yellow", 1000000), ("red", 3000000)], no_value="not scraped"),
         "options": stat_options("value", graph="area")}),
    (7, graph("TSDB Size", "Bytes of the persisted blocks and of the write-ahead log, and the retention size limit "
              "(0 when retention is by time only).",
              [target("prometheus_tsdb_storage_blocks_bytes" + PROMETHEUS, "A", "blocks {{instance}}"),
               target("prometheus_tsdb_wal_storage_size_bytes" + PROMETHEUS, "B", "WAL {{instance}}"),
               target("prometheus_tsdb_retention_limit_bytes" + PROMETHEUS, "C", "retention limit {{instance}}")],
              "bytes", 0)),
    (6, graph("Rule Evaluation Failures", "Failed evaluations per second of each rule group (alerts and recording "
              "rules). 0 is healthy.",
              [target(rule_failures, legend="{{rule_group}}")], "short", 3)),
    (6, graph("Scrapes over the Sample Limit", "Scrapes per second refused because a target returned more samples "
              "than sample_limit (the claude_code job's limit guards against a cardinality explosion). 0 is "
              "healthy.",
              [target("sum by (instance) (rate(prometheus_target_scrapes_exceeded_sample_limit_total" + PROMETHEUS
                      + "[$__rate_interval]))", legend="{{instance}}")], "short", 3)),
])

# ---------------------------------------------------------------- 5. Loki
layout.row("Loki")
LOKI_JOB = '{job="loki"}'
layout.add(8, [
    (8, graph("Lines Received", "Log lines per second Loki's distributor received, by tenant.",
              [target("sum by (tenant) (rate(loki_distributor_lines_received_total" + LOKI_JOB + "[$__rate_interval]))",
                      legend="{{tenant}}")], "short", 2)),
    (8, graph("Bytes Received", "Bytes per second Loki's distributor received, by tenant.",
              [target("sum by (tenant) (rate(loki_distributor_bytes_received_total" + LOKI_JOB + "[$__rate_interval]))",
                      legend="{{tenant}}")], "Bps", 0)),
    (8, graph("Discarded Samples", "Log lines per second Loki discarded, by reason (rate limits, too old, line too "
              "long, ...). 0 is healthy.",
              [target("sum by (reason) (rate(loki_discarded_samples_total" + LOKI_JOB + "[$__rate_interval]))"
                      " or (sum(rate(loki_distributor_lines_received_total" + LOKI_JOB + "[$__rate_interval])) * 0)",
                      legend="{{reason}}")], "short", 2)),
])

# ---------------------------------------------------------------- 6. Alertmanager
layout.row("Alertmanager")
layout.add(7, [
    (12, graph("Alerts", "Alerts Alertmanager holds, by state (active, suppressed, unprocessed).",
               [target('sum by (state) (alertmanager_alerts{job="alertmanager"})', legend="{{state}}")], "short", 0)),
    (12, graph("Notification Failures", "Failed notifications per second by integration (email, webhook, ...). "
               "0 is healthy.",
               [target('sum by (integration) (rate(alertmanager_notifications_failed_total{job="alertmanager"}'
                       '[$__rate_interval]))', legend="{{integration}}")], "short", 3)),
])

dashboard = dashboard(
    "claude-code-stack-health", "Claude Code / Stack Health",
    "Health of the telemetry stack itself: the OTel Collector, Prometheus, Loki, Alertmanager and Grafana.",
    layout.panels, time_from="now-6h", links=dashboard_links())


def main() -> None:
    write(dashboard, "claude-code-stack-health.json")


if __name__ == "__main__":
    main()
