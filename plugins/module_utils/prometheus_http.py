# -*- coding: utf-8 -*-
# Copyright: telemetry.claude_code developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The two calls of Prometheus's HTTP API that seeding the fleet counters needs (fleet_seed.seed):
the metric names it holds, and its remote-write receiver."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type  # pylint: disable=invalid-name

import json

from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.urls import open_url

try:
    from ansible_collections.telemetry.claude_code.plugins.module_utils.fleet_seed import SeedError
except ImportError:  # pragma: no cover
    from fleet_seed import SeedError  # pylint: disable=import-error


class PrometheusHttp:
    """Prometheus at ``url`` (with the path of --web.external-url, if any)."""

    def __init__(self, url, timeout=60):
        self.url = url.rstrip("/")
        self.timeout = timeout

    def names(self):
        """Every metric name Prometheus holds (blocks and head), or None when it does not answer."""
        try:
            response = open_url(self.url + "/api/v1/label/__name__/values", timeout=self.timeout)
            return set(json.loads(response.read().decode("utf-8"))["data"])
        except (HTTPError, URLError, OSError, ValueError, KeyError):
            return None

    def write(self, body):
        """Send a remote-write request (protobuf in a snappy block)."""
        try:
            open_url(self.url + "/api/v1/write", data=body, method="POST", timeout=self.timeout, headers={
                "Content-Encoding": "snappy", "Content-Type": "application/x-protobuf",
                "X-Prometheus-Remote-Write-Version": "0.1.0"}).read()
        except HTTPError as exc:
            raise SeedError("Prometheus's remote-write receiver ({0}/api/v1/write) refused the history: HTTP {1} {2}".format(
                self.url, exc.code, exc.read().decode("utf-8", "replace").strip()[:500]))
        except (URLError, OSError) as exc:
            raise SeedError("could not send the history to {0}/api/v1/write: {1}".format(self.url, exc))
