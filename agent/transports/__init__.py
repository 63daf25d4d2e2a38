"""Room transports behind one interface (`base.RoomTransport`): `embedded` (aiortc, default)."""
