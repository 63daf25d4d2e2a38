"""Caption numbering across a failover: the pool's stream against two scripted servers (pipecat-style).

The real failover, with two inference servers killed mid-utterance, is in
tests/inference_server/test_registry.py; here the servers' events are scripted so that the one
that dies has already sent a sentence's final of the utterance in progress.
"""

from __future__ import annotations

from agent.inference_pool import FailoverStream
from inference_server.protocol import Final, Ready, SpeechEnded, SpeechStarted, StreamConfig

ABNORMAL_CLOSE, NORMAL_CLOSE = 1006, 1000


class ScriptedServerStream:
    """One server's stream: sends its scripted events, then closes (`ends_with`: dropped, or done)."""

    def __init__(self, events: list, ends_with: int) -> None:
        self._events = events
        self._ends_with = ends_with
        self.close_code: int | None = None

    async def send_audio(self, pcm16: bytes) -> None:
        pass

    async def end(self) -> None:
        pass

    def __aiter__(self):
        return self._play()

    async def _play(self):
        for event in self._events:
            yield event
        self.close_code = self._ends_with


class TwoServers:
    """The pool seam: the first stream opened dies, the second takes over."""

    def __init__(self, *streams: ScriptedServerStream) -> None:
        self._streams = list(streams)

    async def _open(self, config: StreamConfig):
        return f"http://server-{len(self._streams)}", None, self._streams.pop(0)

    async def _release(self, url: str, context) -> None:
        pass

    def mark_failed(self, url: str) -> None:
        pass


def final(utterance: int, segment: int, text: str, start: float, end: float, *, last: bool) -> Final:
    return Final(utterance_id=utterance, segment=segment, last=last, text=text, start=start, end=end, speaker="S1",
                 emotion="neutral", emotion_score=1.0)


async def test_a_failover_after_a_sentence_final_continues_the_utterances_captions_without_reusing_one():
    dying = ScriptedServerStream([Ready(stream_id="a"), SpeechStarted(utterance_id=1, start=0.2),
                                  final(1, 0, "The first sentence.", 0.2, 2.0, last=False)], ABNORMAL_CLOSE)
    # The survivor hears the replay from the first final's end: the utterance again, as its own first.
    survivor = ScriptedServerStream([Ready(stream_id="b"), SpeechStarted(utterance_id=1, start=0.3),
                                     final(1, 0, "And the rest.", 0.3, 1.5, last=False),
                                     final(1, 1, "", 1.5, 1.5, last=True), SpeechEnded(utterance_id=1, end=1.5),
                                     SpeechStarted(utterance_id=2, start=2.0),
                                     final(2, 0, "Next.", 2.0, 2.6, last=True)], NORMAL_CLOSE)
    stream = FailoverStream(TwoServers(dying, survivor), StreamConfig())
    await stream.open()
    events = aiter(stream)

    async def send(seconds: float) -> None:
        for _ in range(round(seconds * 10)):
            await stream.send_audio(bytes(3200))  # 100 ms

    await send(2.2)
    finals = []
    while not finals:  # the first server's events, as the audio reached it
        if isinstance(event := await anext(events), Final):
            finals.append(event)
    await send(1.8)
    await stream.end()
    finals += [event async for event in events if isinstance(event, Final)]
    assert stream.failovers == 1
    assert [(f.utterance_id, f.segment, f.text, f.last) for f in finals] == [
        (1, 0, "The first sentence.", False), (1, 1, "And the rest.", False), (1, 2, "", True), (2, 0, "Next.", True)]
