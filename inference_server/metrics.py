"""Prometheus metrics of one inference server (own registry, so tests can run several)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.queue_depth = Gauge("parley_scheduler_queue_depth", "Jobs waiting for the device",
                                 ["priority"], registry=self.registry)
        self.queue_wait = Histogram("parley_scheduler_queue_wait_seconds", "Time a job waited",
                                    ["priority"], buckets=_LATENCY_BUCKETS, registry=self.registry)
        self.model_latency = Histogram("parley_model_latency_seconds", "Time of one model call",
                                       ["model"], buckets=_LATENCY_BUCKETS, registry=self.registry)
        self.batch_size = Histogram("parley_batch_size", "Items served by one batched model call",
                                    ["model"], buckets=(1, 2, 3, 4, 6, 8, 16), registry=self.registry)
        self.streams = Gauge("parley_streams_active", "Open transcription streams", registry=self.registry)
        self.requests = Counter("parley_requests_total", "HTTP requests", ["route", "status"],
                                registry=self.registry)
        self.abandoned = Counter("parley_requests_abandoned_total",
                                 "Requests whose client left before the answer; their work was cancelled",
                                 registry=self.registry)
        self.interim_lag = Histogram("parley_interim_lag_seconds",
                                     "Audio time behind the stream head when an interim is sent",
                                     buckets=_LATENCY_BUCKETS, registry=self.registry)
        self.final_latency = Histogram("parley_final_latency_seconds",
                                       "End of utterance to final event sent",
                                       buckets=_LATENCY_BUCKETS, registry=self.registry)

    def render(self) -> bytes:
        return generate_latest(self.registry)
