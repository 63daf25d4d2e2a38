"""Seam for one-host tests and benchmarks: aioice gathers 127.0.0.1 and nothing else.

aioice skips loopback when it gathers host candidates, so two aiortc peers on one machine
would pair over the machine's LAN addresses. With `PARLEY_WEBRTC_LOOPBACK_ONLY=1` both
ends (the room server and the Python test client) offer only 127.0.0.1, so no packet
leaves loopback. It is process-wide on purpose: every peer connection in the process must
agree. Real browsers never offer loopback candidates; they need a network namespace.
"""

from __future__ import annotations

import aioice.ice


def use_loopback_candidates_only() -> None:
    aioice.ice.get_host_addresses = _loopback_addresses


def _loopback_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
    return ["127.0.0.1"] if use_ipv4 else []
