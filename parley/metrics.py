"""The Prometheus registry of this process's room metrics: the agent records into it, the API's
/metrics serves it (a registry of our own, not the global one: tests start many apps)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

REGISTRY = CollectorRegistry(auto_describe=True)
