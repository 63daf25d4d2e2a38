"""Checks on a browser's SDP offer before it reaches aiortc, which accepts almost any text silently."""

from __future__ import annotations

from aiortc.sdp import SessionDescription

from parley.signalling import InvalidOffer


def check_offer(sdp: str) -> None:
    if not sdp.lstrip().startswith("v=0"):
        raise InvalidOffer("not an SDP offer: it must start with 'v=0'")
    try:
        description = SessionDescription.parse(sdp)
    except Exception as exc:  # noqa: BLE001 - aiortc's parser raises whatever it trips on
        raise InvalidOffer(f"unreadable SDP offer ({type(exc).__name__}: {exc})") from None
    media = description.media
    audio = [m for m in media if m.kind == "audio"]
    if not audio:
        raise InvalidOffer("the offer has no audio: join with a microphone")
    if not any(m.direction in ("sendrecv", "sendonly") for m in audio):
        raise InvalidOffer("the offer does not send audio: join with a microphone")
    if not any(codec.mimeType.lower() == "audio/opus" for m in audio for codec in m.rtp.codecs):
        raise InvalidOffer("the offer has no Opus audio codec")
    if not any(m.kind == "application" and m.sctp_port is not None for m in media):
        raise InvalidOffer("the offer has no data channel, which captions need")
    for m in media:
        if m.ice is None or not m.ice.usernameFragment or not m.ice.password:
            raise InvalidOffer("the offer lacks ICE credentials (a=ice-ufrag / a=ice-pwd)")
        if m.dtls is None or not m.dtls.fingerprints:
            raise InvalidOffer("the offer lacks a DTLS fingerprint (a=fingerprint)")
