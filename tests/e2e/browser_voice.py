"""Real-browser voice scenario, run inside a private network namespace by test_browser_voice.py.

Starts `parley up` with the default (quality) LLM, opens headless Chromium whose fake
microphone asks a question, and records what the page gets back: the assistant's captions,
notices, a loudness timeline of the room audio, and the room audio itself (MediaRecorder on
the page's <audio> stream). While Parley is still up, the recorded reply is transcribed by
its own inference server. Writes result.json, reply.webm and a screenshot into --out.

    python tests/e2e/browser_voice.py --out DIR --microphone question.wav
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import secrets
import shutil
import time
from pathlib import Path

from playwright.async_api import async_playwright

from bench.parley_process import free_port, running_parley
from inference_server.client import InferenceClient
from tests.e2e.browser_room import CAPTIONS_JS, CHROMIUM, open_participant, wait_connected

RECORD_JS = """() => {
  const stream = document.getElementById("room-audio").srcObject;
  window.__chunks = [];
  window.__recorder = new MediaRecorder(stream, { mimeType: "audio/webm;codecs=opus" });
  window.__recorder.ondataavailable = (e) => window.__chunks.push(e.data);
  window.__recorder.start(250);
  const ctx = new AudioContext();
  const analyser = ctx.createAnalyser();
  ctx.createMediaStreamSource(stream).connect(analyser);
  const buf = new Float32Array(analyser.fftSize);
  window.__levels = [];
  setInterval(() => {
    analyser.getFloatTimeDomainData(buf);
    window.__levels.push([performance.now(), Math.sqrt(buf.reduce((s, x) => s + x * x, 0) / buf.length)]);
  }, 20);
}"""

STOP_RECORDING_JS = """async () => {
  const recorder = window.__recorder;
  await new Promise((resolve) => { recorder.onstop = resolve; recorder.stop(); });
  const bytes = new Uint8Array(await new Blob(window.__chunks, { type: "audio/webm" }).arrayBuffer());
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}"""

ASSISTANT_CAPTION_JS = """(name) => [...document.querySelectorAll('#captions .caption')]
  .filter((row) => row.querySelector('.speaker').textContent === name)
  .map((row) => ({ text: row.querySelector('.caption-text').textContent, interim: row.classList.contains('interim') }))"""


async def scenario(out: Path, microphone: Path, wait_s: float) -> dict:
    port, token = free_port(), secrets.token_urlsafe(16)
    env = {"PARLEY_WEBRTC_LOOPBACK_ONLY": "0", "PARLEY_INFERENCE_PORT": str(port), "PARLEY_INFERENCE_TOKEN": token}
    result: dict = {}
    async with running_parley(env) as parley, async_playwright() as playwright:
        context, page = await open_participant(playwright, parley.url, "Ann", microphone)
        result["state"] = await wait_connected(page, 30)
        await page.evaluate(RECORD_JS)
        joined = time.monotonic()
        deadline = joined + wait_s
        captions: list[dict] = []
        while time.monotonic() < deadline:
            captions = await page.evaluate(ASSISTANT_CAPTION_JS, "Parley")
            if any(not c["interim"] for c in captions):
                break
            await asyncio.sleep(0.25)
        result["reply_after_s"] = round(time.monotonic() - joined, 2)
        await asyncio.sleep(1.5)  # the reply's last audio and the speaking state
        result["assistant_captions"] = await page.evaluate(ASSISTANT_CAPTION_JS, "Parley")
        result["captions"] = await page.evaluate(CAPTIONS_JS)
        result["notice"] = "" if await page.is_hidden("#notice") else await page.inner_text("#notice-text")
        result["levels"] = await page.evaluate("window.__levels")
        await page.screenshot(path=str(out / "voice-room.png"))
        recording = base64.b64decode(await page.evaluate(STOP_RECORDING_JS))
        (out / "reply.webm").write_bytes(recording)
        async with InferenceClient(f"http://127.0.0.1:{port}", token=token) as inference:
            result["heard"] = (await inference.transcribe(recording, filename="reply.webm")).text
        await context.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--microphone", type=Path, required=True)
    parser.add_argument("--wait", type=float, default=150.0, help="how long to wait for the assistant's reply")
    args = parser.parse_args()
    if shutil.which(CHROMIUM) is None:
        raise SystemExit(f"{CHROMIUM} not found")
    args.out.mkdir(parents=True, exist_ok=True)
    result = asyncio.run(scenario(args.out, args.microphone, args.wait))
    (args.out / "result.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
