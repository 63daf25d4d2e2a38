"""Parley's HTTP API: health, room signalling (embedded WebRTC), and the web page."""
