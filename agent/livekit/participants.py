"""Several participants in one `AgentSession`: one ASR stream each, one conversation.

An `AgentSession` has one audio input. `ParticipantRoutingSTT` wraps a streaming STT and
opens one recognition stream per participant named in the frames' userdata (see
offline_io.PARTICIPANT_KEY), so the same audio is never mixed or transcribed twice. The
merged events form one user turn labelled by speaker, the way livekit-agents'
`MultiSpeakerAdapter` labels voices: the text of each transcript is `text_format`
("{speaker}: {text}"), `speaker_id` is the caption label ("Ann", "Ann (2)" for a second
voice on Ann's microphone), and the user is speaking while anyone is.
"""

from __future__ import annotations

import asyncio
import dataclasses

from livekit import rtc
from livekit.agents import DEFAULT_API_CONNECT_OPTIONS, APIConnectOptions, stt, utils
from livekit.agents.types import NOT_GIVEN, NotGivenOr

from ..labels import SpeakerLabels
from .offline_io import PARTICIPANT_KEY


class ParticipantRoutingSTT(stt.STT):
    def __init__(self, wrapped: stt.STT, *, text_format: str = "{speaker}: {text}") -> None:
        if not wrapped.capabilities.streaming:
            raise ValueError("ParticipantRoutingSTT needs a streaming STT")
        super().__init__(capabilities=dataclasses.replace(wrapped.capabilities, diarization=True))
        self.wrapped = wrapped
        self.text_format = text_format
        self._recognize_metrics_needed = False  # the wrapped STT reports its own

    @property
    def model(self) -> str:
        return self.wrapped.model

    @property
    def provider(self) -> str:
        return self.wrapped.provider

    async def _recognize_impl(self, buffer: utils.AudioBuffer, *, language: NotGivenOr[str] = NOT_GIVEN,
                              conn_options: APIConnectOptions) -> stt.SpeechEvent:
        return await self.wrapped.recognize(buffer, language=language, conn_options=conn_options)

    def stream(self, *, language: NotGivenOr[str] = NOT_GIVEN,
               conn_options: APIConnectOptions = DEFAULT_API_CONNECT_OPTIONS) -> RoutedSpeechStream:
        return RoutedSpeechStream(stt=self, conn_options=conn_options)


class RoutedSpeechStream(stt.RecognizeStream):
    def __init__(self, *, stt: ParticipantRoutingSTT, conn_options: APIConnectOptions) -> None:
        super().__init__(stt=stt, conn_options=conn_options)
        self._router = stt
        self._streams: dict[str, stt.RecognizeStream] = {}
        self._labels: dict[str, SpeakerLabels] = {}
        self._speaking: set[str] = set()
        self._pumps: list[asyncio.Task] = []

    async def _run(self) -> None:
        try:
            async for item in self._input_ch:
                if isinstance(item, self._FlushSentinel):
                    for stream in self._streams.values():
                        stream.flush()
                else:
                    self._stream_for(item).push_frame(item)
            for stream in self._streams.values():
                stream.end_input()
            await asyncio.gather(*self._pumps)
        finally:  # a retry starts over with fresh streams
            await utils.aio.cancel_and_wait(*self._pumps)
            await asyncio.gather(*(s.aclose() for s in self._streams.values()), return_exceptions=True)
            self._streams, self._pumps = {}, []
            self._speaking.clear()

    def _stream_for(self, frame: rtc.AudioFrame) -> stt.RecognizeStream:
        name = str(frame.userdata.get(PARTICIPANT_KEY, ""))
        if name not in self._streams:
            self._streams[name] = self._router.wrapped.stream(conn_options=self._conn_options)
            self._labels[name] = SpeakerLabels(name)
            self._pumps.append(asyncio.create_task(self._pump(name, self._streams[name]),
                                                   name=f"stt-{name}"))
        return self._streams[name]

    async def _pump(self, name: str, stream: stt.RecognizeStream) -> None:
        async for event in stream:
            if event.type == stt.SpeechEventType.START_OF_SPEECH:
                if not self._speaking:
                    self._event_ch.send_nowait(event)
                self._speaking.add(name)
            elif event.type == stt.SpeechEventType.END_OF_SPEECH:
                self._speaking.discard(name)
                if not self._speaking:
                    self._event_ch.send_nowait(event)
            elif event.alternatives and event.type in (stt.SpeechEventType.INTERIM_TRANSCRIPT,
                                                       stt.SpeechEventType.FINAL_TRANSCRIPT):
                self._event_ch.send_nowait(self._labelled(name, event))
            else:
                self._event_ch.send_nowait(event)

    def _labelled(self, name: str, event: stt.SpeechEvent) -> stt.SpeechEvent:
        labels = self._labels[name]
        first = event.alternatives[0]
        speaker = labels.label(first.speaker_id)[0] if first.speaker_id else labels.last
        text = self._router.text_format.format(speaker=speaker, text=first.text) if first.text else ""
        metadata = {**(first.metadata or {}), "participant": name, "voice": first.speaker_id}
        alternative = dataclasses.replace(first, text=text, speaker_id=speaker, metadata=metadata)
        return dataclasses.replace(event, alternatives=[alternative, *event.alternatives[1:]])
