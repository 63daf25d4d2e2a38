"""HTTP and WebSocket routes of the inference server."""
