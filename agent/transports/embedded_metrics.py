"""Incoming audio health of embedded rooms, per participant, on the agent's /metrics.

`parley_agent_incoming_audio_frames_total{room,participant,outcome}` covers the people present now;
`parley_agent_incoming_audio_frames_all_total{outcome}` adds those who left, so nothing is forgotten.
Outcomes are the fields of ReceiveStats (received, lost, concealed, recovered, late, undecodable).
"""

from __future__ import annotations

import dataclasses
import logging

from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from ..conversation.metrics import REGISTRY
from .embedded_receive import ReceiveStats

log = logging.getLogger(__name__)

OUTCOMES = tuple(f.name for f in dataclasses.fields(ReceiveStats))


class IncomingAudioMetrics(Collector):
    def __init__(self) -> None:
        self._live: dict[tuple[str, str], ReceiveStats] = {}
        self._departed = ReceiveStats()

    def track(self, room: str, participant: str, stats: ReceiveStats) -> None:
        self._live[(room, participant)] = stats

    def untrack(self, room: str, participant: str) -> None:
        stats = self._live.pop((room, participant), None)
        if stats is None:
            return
        for name in OUTCOMES:
            setattr(self._departed, name, getattr(self._departed, name) + getattr(stats, name))
        if stats.lost or stats.late or stats.undecodable:
            log.info("room %s: %s's audio: %s", room, participant, dataclasses.asdict(stats))

    def collect(self):
        per = CounterMetricFamily("parley_agent_incoming_audio_frames",
                                  "Incoming 20 ms microphone frames of present participants, by outcome",
                                  labels=["room", "participant", "outcome"])
        total = CounterMetricFamily("parley_agent_incoming_audio_frames_all",
                                    "Incoming 20 ms microphone frames of every participant so far, by outcome",
                                    labels=["outcome"])
        sums = dataclasses.asdict(self._departed)
        for (room, participant), stats in list(self._live.items()):
            for name in OUTCOMES:
                value = getattr(stats, name)
                per.add_metric([room, participant, name], value)
                sums[name] += value
        for name in OUTCOMES:
            total.add_metric([name], sums[name])
        yield per
        yield total


INCOMING_AUDIO = IncomingAudioMetrics()
REGISTRY.register(INCOMING_AUDIO)
