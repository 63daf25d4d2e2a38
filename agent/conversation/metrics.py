"""Per-turn voice metrics with LiveKit's names, logged and exported for Prometheus.

They go into `parley.metrics.REGISTRY`: the API process (which hosts embedded rooms' agents)
serves it on its /metrics; a standalone agent worker can serve it the same way.
"""

from __future__ import annotations

import logging

from prometheus_client import Counter, Histogram

from parley.metrics import REGISTRY

from ..events import TurnMetrics

log = logging.getLogger(__name__)

_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0, 5.0, 10.0)
_STAGES = ("end_of_utterance_delay", "transcription_delay", "ttft", "ttfb", "e2e_latency")

STAGE_SECONDS = {
    name: Histogram(f"parley_agent_{name}_seconds", f"Voice turn stage '{name}' (LiveKit's metric name)",
                    buckets=_BUCKETS, registry=REGISTRY)
    for name in _STAGES
}
REPLIES = Counter("parley_agent_replies", "Assistant replies by outcome", ["outcome"], registry=REGISTRY)
NOTICES = Counter("parley_agent_notices", "Notices shown instead of a spoken reply", registry=REGISTRY)
BARGE_INS = Counter("parley_agent_barge_ins", "Replies paused because a human started speaking", ["result"],
                    registry=REGISTRY)


def record_turn(room: str, metrics: TurnMetrics) -> None:
    REPLIES.labels(outcome=metrics.outcome).inc()
    for name in _STAGES:
        value = getattr(metrics, name)
        if value is not None:
            STAGE_SECONDS[name].observe(max(0.0, value))
    stages = " ".join(f"{name}={getattr(metrics, name):.3f}" for name in _STAGES if getattr(metrics, name) is not None)
    log.info("room %s turn %d %s: %s audio=%.2fs", room, metrics.turn, metrics.outcome, stages,
             metrics.reply_audio_s)
