"""A browser's offer is checked before aiortc, which would accept any text."""

from __future__ import annotations

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection
from aiortc.mediastreams import AudioStreamTrack

from agent.transports.offer import check_offer
from parley.signalling import InvalidOffer


async def make_offer(*, audio: str | None = "sendrecv", data_channel: bool = True) -> str:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    if audio == "sendrecv":
        pc.addTrack(AudioStreamTrack())
    elif audio == "recvonly":
        pc.addTransceiver("audio", direction="recvonly")
    if data_channel:
        pc.createDataChannel("parley")
    await pc.setLocalDescription(await pc.createOffer())
    sdp = pc.localDescription.sdp
    await pc.close()
    return sdp


async def test_a_normal_offer_passes():
    check_offer(await make_offer())


@pytest.mark.parametrize("sdp, reason", [
    ("garbage", "not an SDP offer"),
    ("", "not an SDP offer"),
    ("v=0\r\ns=-\r\n", "no audio"),
])
def test_garbage_is_refused_with_a_reason(sdp, reason):
    with pytest.raises(InvalidOffer, match=reason):
        check_offer(sdp)


async def test_an_offer_without_a_microphone_is_refused():
    with pytest.raises(InvalidOffer, match="no audio"):
        check_offer(await make_offer(audio=None))
    with pytest.raises(InvalidOffer, match="does not send audio"):
        check_offer(await make_offer(audio="recvonly"))


async def test_an_offer_without_a_data_channel_is_refused():
    with pytest.raises(InvalidOffer, match="no data channel"):
        check_offer(await make_offer(data_channel=False))


async def test_an_offer_without_ice_credentials_or_fingerprint_is_refused():
    sdp = await make_offer()
    no_ice = "\r\n".join(line for line in sdp.split("\r\n") if not line.startswith("a=ice-pwd"))
    with pytest.raises(InvalidOffer, match="ICE credentials"):
        check_offer(no_ice)
    no_fingerprint = "\r\n".join(line for line in sdp.split("\r\n") if not line.startswith("a=fingerprint"))
    with pytest.raises(InvalidOffer, match="DTLS fingerprint"):
        check_offer(no_fingerprint)
