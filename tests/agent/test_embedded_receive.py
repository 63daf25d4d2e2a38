"""Incoming microphone audio: lost RTP packets are concealed and counted, and the stream keeps its length.

Real aiortc peers over loopback, a real Opus encoder, real speech (LibriVox); the "network"
drops chosen RTP packets at the sender.
"""

from __future__ import annotations

import asyncio
import fractions

import av
import numpy as np
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection
from aiortc.mediastreams import MediaStreamTrack
from aiortc.rtp import is_rtcp

from agent.conversation.metrics import REGISTRY
from agent.transports.embedded_metrics import INCOMING_AUDIO
from agent.transports.embedded_peer import ask_for_opus_fec, install_concealing_receivers
from agent.transports.embedded_receive import FRAME_SAMPLES, RTC_RATE, ConcealingAudioReceiver, ReceiveStats
from bench.audio import librivox_clips, load_pcm16k

DROPPED = {30, 31, 32, 70, 110, 111, 150}  # packet indices from the first one sent: single losses and bursts


def speech_48k(seconds: float) -> np.ndarray:
    clip = librivox_clips()[0]
    samples = load_pcm16k(clip.path, RTC_RATE)[: int(seconds * RTC_RATE)]
    return np.round(samples * 32767).astype(np.int16)


class SpeechTrack(MediaStreamTrack):
    """A browser microphone playing real speech, 20 ms frames, a little faster than real time."""

    kind = "audio"

    def __init__(self, samples: np.ndarray) -> None:
        super().__init__()
        self._samples = samples
        self._pts = 0

    async def recv(self) -> av.AudioFrame:
        await asyncio.sleep(0.005)
        chunk = self._samples[self._pts:self._pts + FRAME_SAMPLES]
        if len(chunk) < FRAME_SAMPLES:
            chunk = np.zeros(FRAME_SAMPLES, np.int16)  # keep sending silence until the test stops
        frame = av.AudioFrame.from_ndarray(np.repeat(chunk, 2).reshape(1, -1), format="s16", layout="stereo")
        frame.sample_rate, frame.pts, frame.time_base = RTC_RATE, self._pts, fractions.Fraction(1, RTC_RATE)
        self._pts += FRAME_SAMPLES
        return frame


def drop_packets_at_sender(pc: RTCPeerConnection, dropped: set[int]) -> list[int]:
    """The sender's RTP goes through a lossy "network" that drops the RTP packets at these indices."""
    [sender] = pc.getSenders()
    transport = sender.transport
    send_rtp = transport._send_rtp
    sent: list[int] = []  # sequence numbers of every RTP packet sent, dropped or not

    async def lossy(data: bytes) -> None:
        if is_rtcp(data):
            # The sender's reports share this path; counting them made a drop land on one now and then.
            await send_rtp(data)
            return
        sent.append(int.from_bytes(data[2:4], "big"))
        if len(sent) - 1 not in dropped:
            await send_rtp(data)

    transport._send_rtp = lossy
    return sent


async def test_lost_packets_are_concealed_counted_and_the_stream_keeps_its_duration():
    browser = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    server = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    speech = speech_48k(4.0)
    browser.addTrack(SpeechTrack(speech))
    received: list[np.ndarray] = []
    stats = ReceiveStats()
    enough = asyncio.Event()
    wanted_frames = 180

    def on_audio(samples: np.ndarray) -> None:
        received.append(samples)
        if sum(map(len, received)) >= wanted_frames * FRAME_SAMPLES:
            enough.set()

    server.on("track", lambda track: None)
    INCOMING_AUDIO.track("loopback", "browser", stats)
    try:
        await browser.setLocalDescription(await browser.createOffer())
        await server.setRemoteDescription(browser.localDescription)
        assert install_concealing_receivers(server, on_audio, stats)
        await server.setLocalDescription(await server.createAnswer())
        answer = server.localDescription
        answer.sdp = ask_for_opus_fec(answer.sdp)
        await browser.setRemoteDescription(answer)
        sent = drop_packets_at_sender(browser, DROPPED)
        await asyncio.wait_for(enough.wait(), timeout=30)

        audio = np.concatenate(received)[: wanted_frames * FRAME_SAMPLES]
        assert stats.lost == len(DROPPED)  # every dropped 20 ms frame, no more
        assert stats.concealed == len(DROPPED)
        assert stats.late == 0 and stats.undecodable == 0
        # Duration preserved: the output is exactly as long as what was sent, frame for frame.
        frames_out = sum(map(len, received)) // FRAME_SAMPLES
        assert stats.received + stats.concealed == frames_out
        assert len(sent) >= frames_out >= wanted_frames
        # ...and in time with the input: Opus' delay aside, the speech lines up without drift.
        # (A compressed stream would slide earlier by 20 ms per lost frame: 140 ms by the end.)
        tail = slice(170 * FRAME_SAMPLES, 180 * FRAME_SAMPLES)
        lags = range(0, 2 * FRAME_SAMPLES)
        scores = [float(np.dot(audio[tail].astype(float), speech[tail.start - lag:tail.stop - lag].astype(float)))
                  for lag in lags]
        assert np.argmax(scores) < 400  # libopus' own delay is 6.5 ms (312 samples)
        assert REGISTRY.get_sample_value("parley_agent_incoming_audio_frames_total",
                                         {"room": "loopback", "participant": "browser", "outcome": "lost"}) \
            == len(DROPPED)
    finally:
        INCOMING_AUDIO.untrack("loopback", "browser")
        await browser.close()
        await server.close()
    assert REGISTRY.get_sample_value("parley_agent_incoming_audio_frames_all_total", {"outcome": "lost"}) >= len(DROPPED)


def opus_packets(samples: np.ndarray, *, fec: bool) -> list[bytes]:
    encoder = av.CodecContext.create("libopus", "w")
    encoder.sample_rate, encoder.layout, encoder.format = RTC_RATE, "mono", "s16"
    encoder.bit_rate = 32000
    encoder.options = {"application": "voip", "fec": "1" if fec else "0", "packet_loss": "20" if fec else "0"}
    packets: list[bytes] = []
    for i in range(0, len(samples) - FRAME_SAMPLES + 1, FRAME_SAMPLES):
        frame = av.AudioFrame.from_ndarray(samples[i:i + FRAME_SAMPLES].reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate, frame.pts = RTC_RATE, i
        packets += [bytes(p) for p in encoder.encode(frame)]
    return packets


def receive(packets: list[tuple[int, bytes]]) -> tuple[np.ndarray, ReceiveStats]:
    out: list[np.ndarray] = []
    receiver = ConcealingAudioReceiver(out.append)
    for index, payload in packets:
        receiver.push((65500 + index) % 65536, (7 + index * FRAME_SAMPLES) % (1 << 32), payload)
    return np.concatenate(out), receiver.stats


def test_reordered_packets_within_the_window_are_not_lost_and_wrap_around_is_seamless():
    packets = list(enumerate(opus_packets(speech_48k(2.0), fec=False)))  # sequence numbers wrap at 65536
    in_order, _ = receive(packets)
    shuffled = packets[:]
    shuffled[10], shuffled[11] = shuffled[11], shuffled[10]
    shuffled[40], shuffled[42] = shuffled[42], shuffled[40]
    reordered, stats = receive(shuffled)
    assert stats.lost == stats.concealed == stats.late == 0
    assert np.array_equal(reordered, in_order)


def test_a_packet_later_than_the_window_is_concealed_once_then_discarded():
    packets = list(enumerate(opus_packets(speech_48k(1.0), fec=False)))
    late = packets[:10] + packets[11:15] + [packets[10]] + packets[15:]
    audio, stats = receive(late)
    assert (stats.lost, stats.concealed, stats.late) == (1, 1, 1)
    assert len(audio) == len(packets) * FRAME_SAMPLES


@pytest.mark.parametrize("lost_index", [20, 33, 47])
def test_in_band_fec_rebuilds_a_lost_frame_better_than_concealment(lost_index):
    speech = speech_48k(1.2)
    fec_packets = list(enumerate(opus_packets(speech, fec=True)))
    clean, _ = receive(fec_packets)
    recovered, stats = receive(fec_packets[:lost_index] + fec_packets[lost_index + 1:])
    plc_packets = list(enumerate(opus_packets(speech, fec=False)))
    plc_clean, _ = receive(plc_packets)
    concealed, plc_stats = receive(plc_packets[:lost_index] + plc_packets[lost_index + 1:])
    assert (stats.lost, stats.recovered) == (1, 1) and plc_stats.recovered == 0
    frame = slice(lost_index * FRAME_SAMPLES, (lost_index + 1) * FRAME_SAMPLES)

    def error(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.mean((a[frame].astype(float) - b[frame].astype(float)) ** 2))

    assert error(recovered, clean) < error(concealed, plc_clean)
    assert len(recovered) == len(clean)


def test_the_answer_asks_the_browser_for_in_band_fec():
    offer_like = ("v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\na=rtpmap:111 opus/48000/2\r\n"
                  "a=rtpmap:0 PCMU/8000\r\n")
    assert "a=fmtp:111 useinbandfec=1\r\n" in ask_for_opus_fec(offer_like)
    with_fmtp = "m=audio 9 X 96\r\na=rtpmap:96 opus/48000/2\r\na=fmtp:96 minptime=10\r\n"
    assert "a=fmtp:96 minptime=10;useinbandfec=1\r\n" in ask_for_opus_fec(with_fmtp)
    assert ask_for_opus_fec(ask_for_opus_fec(with_fmtp)) == ask_for_opus_fec(with_fmtp)
