"""The shared inference server: every model loaded once, served to many agents."""
