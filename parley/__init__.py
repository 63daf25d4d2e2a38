"""Parley: a self-hosted voice AI room."""

__version__ = "0.1.0"
