"""Incoming microphone audio of the embedded room: RTP packets in, gap-free 48 kHz mono out.

aiortc's own receive path loses audio without a trace: its jitter buffer stalls at a missing
packet until 16 more have piled up, then skips it and keeps the backlog as extra delay, and
its decoder is never told a frame is missing, so lost 20 ms frames simply vanish (the stream
is compressed in time, words lose sounds, "France" becomes "friends"). Here each RTP packet
is decoded as it arrives, a short reorder window (`REORDER_PACKETS`) waits for late packets,
and whatever is still missing is concealed by libopus itself: in-band FEC from the next
packet when the sender included it, packet-loss concealment otherwise. The stream keeps its
duration, and every lost and concealed frame is counted.

libopus is called through ctypes (PyAV's decoder cannot run FEC or PLC): `OpusDecoder` is that
thin seam. It uses the libopus that ships inside PyAV's wheel, or the system's.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

RTC_RATE = 48000
FRAME_SAMPLES = RTC_RATE // 50  # 20 ms
MAX_FRAME_SAMPLES = RTC_RATE * 120 // 1000  # the longest Opus packet
REORDER_PACKETS = 3  # a gap is declared lost once this many later packets have arrived (60 ms)
PLC_MAX_FRAMES = 10  # past 200 ms PLC only fades out: fill the rest with silence
MAX_GAP_SAMPLES = 10 * RTC_RATE  # a longer jump is a restarted stream, not loss
_OPUS_STEP = RTC_RATE // 400  # 2.5 ms
_SEQ_MOD = 1 << 16
_TS_MOD = 1 << 32


@cache
def _libopus() -> ctypes.CDLL:
    import av  # the wheel bundles libopus next to its own libraries

    bundled = sorted((Path(av.__file__).resolve().parent.parent / "av.libs").glob("libopus*.so*"))
    names = [str(p) for p in bundled] + [n for n in (ctypes.util.find_library("opus"),) if n]
    for name in names:
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        lib.opus_decoder_create.restype = ctypes.c_void_p
        lib.opus_decoder_create.argtypes = [ctypes.c_int32, ctypes.c_int, ctypes.POINTER(ctypes.c_int)]
        lib.opus_decoder_destroy.argtypes = [ctypes.c_void_p]
        lib.opus_decode.restype = ctypes.c_int
        lib.opus_decode.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int32,
                                    ctypes.POINTER(ctypes.c_int16), ctypes.c_int, ctypes.c_int]
        lib.opus_packet_has_lbrr.restype = ctypes.c_int
        lib.opus_packet_has_lbrr.argtypes = [ctypes.c_char_p, ctypes.c_int32]
        return lib
    raise RuntimeError("libopus not found (neither inside PyAV's wheel nor on the system)")


class OpusDecoder:
    """One Opus stream decoded to 48 kHz mono int16 (libopus downmixes a stereo stream itself)."""

    def __init__(self) -> None:
        self._lib = _libopus()
        error = ctypes.c_int()
        self._state = self._lib.opus_decoder_create(RTC_RATE, 1, ctypes.byref(error))
        if not self._state or error.value != 0:
            raise RuntimeError(f"opus_decoder_create failed ({error.value})")
        self._pcm = (ctypes.c_int16 * MAX_FRAME_SAMPLES)()

    def decode(self, payload: bytes) -> np.ndarray:
        return self._run(payload, MAX_FRAME_SAMPLES, fec=False)

    def conceal(self, samples: int) -> np.ndarray:
        """Packet-loss concealment for `samples` (a multiple of 2.5 ms, at most 120 ms)."""
        return self._run(None, samples, fec=False)

    def recover(self, next_payload: bytes, samples: int) -> np.ndarray:
        """The `samples` just before `next_payload`, from its in-band FEC (or PLC when it has none)."""
        return self._run(next_payload, samples, fec=True)

    def has_fec(self, payload: bytes) -> bool:
        return self._lib.opus_packet_has_lbrr(payload, len(payload)) == 1

    def _run(self, payload: bytes | None, samples: int, *, fec: bool) -> np.ndarray:
        n = self._lib.opus_decode(self._state, payload, len(payload) if payload else 0, self._pcm, samples, int(fec))
        if n < 0:
            raise ValueError(f"opus_decode failed ({n})")
        return np.ctypeslib.as_array(self._pcm)[:n].copy()

    def __del__(self) -> None:
        if getattr(self, "_state", None):
            self._lib.opus_decoder_destroy(self._state)
            self._state = None


@dataclass
class ReceiveStats:
    """One participant's incoming audio, in 20 ms frames (packets for `late`)."""

    received: int = 0  # decoded from packets that arrived
    lost: int = 0  # never arrived in time
    concealed: int = 0  # filled by PLC or FEC (the rest of a long gap is silence)
    recovered: int = 0  # of the concealed, rebuilt from the next packet's in-band FEC
    late: int = 0  # packets that arrived after their gap had been concealed (discarded)
    undecodable: int = 0  # corrupt packets, concealed like lost ones


class ConcealingAudioReceiver:
    """Takes the place of aiortc's audio jitter buffer (same `add` method) for one RTP stream.

    Decoded audio goes to `on_audio` in stream order, as 48 kHz mono int16, gaps concealed;
    nothing is handed to aiortc's own decoder.
    """

    def __init__(self, on_audio: Callable[[np.ndarray], None], stats: ReceiveStats | None = None) -> None:
        self._on_audio = on_audio
        self.stats = stats or ReceiveStats()
        self._decoder = OpusDecoder()
        self._pending: dict[int, tuple[int, bytes]] = {}  # extended sequence number -> (timestamp, payload)
        self._next_seq: int | None = None  # extended
        self._next_ts = 0
        self._last_seq = 0  # the highest extended sequence number seen

    def add(self, packet) -> tuple[bool, None]:
        """aiortc's JitterBuffer interface: (send a PLI?, encoded frame for its decoder)."""
        try:
            self.push(packet.sequence_number, packet.timestamp, getattr(packet, "_data", packet.payload))
        except Exception:  # noqa: BLE001 - never let one packet break aiortc's receive loop
            self.stats.undecodable += 1
            log.exception("incoming audio packet %d could not be handled", packet.sequence_number)
        return False, None

    def push(self, sequence_number: int, timestamp: int, payload: bytes) -> None:
        seq = self._extend(sequence_number)
        if self._next_seq is None:
            self._next_seq, self._next_ts = seq, timestamp
        if seq < self._next_seq or seq in self._pending:
            self.stats.late += 1
            return
        self._pending[seq] = (timestamp, payload)
        self._drain()

    def _extend(self, sequence_number: int) -> int:
        """The 16-bit RTP sequence number unwrapped, nearest to the last one seen."""
        if self._next_seq is None:
            self._last_seq = sequence_number
            return sequence_number
        delta = (sequence_number - self._last_seq) % _SEQ_MOD
        if delta >= _SEQ_MOD // 2:
            delta -= _SEQ_MOD
        seq = self._last_seq + delta
        self._last_seq = max(self._last_seq, seq)
        return seq

    def _drain(self) -> None:
        while self._pending:
            if self._next_seq in self._pending:
                timestamp, payload = self._pending.pop(self._next_seq)
                self._play(timestamp, payload)
                continue
            if len(self._pending) < REORDER_PACKETS:
                return  # a gap: wait for late packets a little longer
            self._conceal_gap(min(self._pending))

    def _play(self, timestamp: int, payload: bytes) -> None:
        try:
            audio = self._decoder.decode(payload)
        except ValueError:
            self.stats.undecodable += 1
            audio = self._decoder.conceal(FRAME_SAMPLES)
            self.stats.concealed += 1
        else:
            self.stats.received += max(1, round(len(audio) / FRAME_SAMPLES))
        self._next_seq += 1
        self._next_ts = (timestamp + len(audio)) % _TS_MOD
        self._emit(audio)

    def _conceal_gap(self, first: int) -> None:
        timestamp, payload = self._pending[first]
        lost_packets = first - self._next_seq
        missing = (timestamp - self._next_ts) % _TS_MOD
        if missing > MAX_GAP_SAMPLES or missing < FRAME_SAMPLES // 8:
            missing = lost_packets * FRAME_SAMPLES  # the timestamps cannot be trusted: assume 20 ms packets
        missing = -(-missing // _OPUS_STEP) * _OPUS_STEP  # libopus conceals whole 2.5 ms steps
        frames = -(-missing // FRAME_SAMPLES)
        self.stats.lost += frames
        chunks: list[np.ndarray] = []
        left = missing
        for index in range(frames):
            size = min(FRAME_SAMPLES, left)
            last = index == frames - 1
            if index < PLC_MAX_FRAMES - 1 or last:
                if last and self._decoder.has_fec(payload):
                    chunks.append(self._decoder.recover(payload, size))
                    self.stats.recovered += 1
                else:
                    chunks.append(self._decoder.conceal(size))
                self.stats.concealed += 1
            else:
                chunks.append(np.zeros(size, np.int16))
            left -= size
        self._next_seq, self._next_ts = first, timestamp
        self._emit(np.concatenate(chunks))

    def _emit(self, audio: np.ndarray) -> None:
        if len(audio):
            self._on_audio(audio)
