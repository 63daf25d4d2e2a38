"""The agent: lightweight room logic (captions now, replies later). Never imports torch or model code:
it reaches models only through `inference_server.client`."""
