"""Parley on LiveKit: livekit-agents plugin classes over the inference server, and the worker."""
