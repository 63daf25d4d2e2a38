"""Real-browser scenario, run inside a private network namespace by test_browser_room.py.

Starts `parley up`, opens one headless Chromium per participant (each with its own WAV as
the fake microphone), joins them to one room and records what each page shows: captions
(speaker and text of every final), connection state, notices, and how loud the room audio
it received was. Writes result.json and screenshots into --out.

    python tests/e2e/browser_room.py --out DIR --participant Ann=ann.wav --participant Bob=bob.wav
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import tempfile
import time
from pathlib import Path

from playwright.async_api import Browser, Page, async_playwright

from bench.parley_process import running_parley
from bench.room_access import Account

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--autoplay-policy=no-user-gesture-required", "--use-fake-ui-for-media-stream"]
ROOM = "e2e-room"

# Peak loudness of the room audio a page receives, from a WebAudio analyser on its <audio> element.
LISTEN_JS = """() => {
  const el = document.getElementById("room-audio");
  const ctx = new AudioContext();
  const analyser = ctx.createAnalyser();
  ctx.createMediaStreamSource(el.srcObject).connect(analyser);
  const buf = new Float32Array(analyser.fftSize);
  window.__peakHeard = 0;
  setInterval(() => {
    analyser.getFloatTimeDomainData(buf);
    const rms = Math.sqrt(buf.reduce((s, x) => s + x * x, 0) / buf.length);
    window.__peakHeard = Math.max(window.__peakHeard, rms);
  }, 50);
}"""

CAPTIONS_JS = """() => [...document.querySelectorAll('#captions .caption:not(.interim)')].map(row => ({
  speaker: row.querySelector('.speaker').textContent,
  text: row.querySelector('.caption-text').textContent,
  emotion: row.querySelector('.badge').textContent,
}))"""


async def sign_in(page: Page, account: Account | None = None) -> None:
    """The page's sign-in form, as the admin `running_parley` created (PARLEY_ADMIN_PASSWORD)."""
    account = account or Account.from_env()
    await page.fill("#email", account.email)
    await page.fill("#password", account.password)
    await page.click("#signin-button")
    await page.wait_for_selector("#join-view", state="visible", timeout=15_000)


async def open_participant(playwright, url: str, name: str, wav: Path | None) -> tuple[Browser, Page]:
    flags = FLAGS + (["--use-fake-device-for-media-stream", f"--use-file-for-fake-audio-capture={wav}"] if wav else [])
    profile = tempfile.mkdtemp(prefix="parley-chromium-")  # a fresh, empty profile per browser
    context = await playwright.chromium.launch_persistent_context(
        profile, executable_path=CHROMIUM, args=flags, viewport={"width": 1280, "height": 760}, headless=True)
    context.on("close", lambda _: shutil.rmtree(profile, ignore_errors=True))
    page = context.pages[0] if context.pages else await context.new_page()
    await page.goto(f"{url}/?room={ROOM}")
    await sign_in(page)
    await page.fill("#name", name)
    await page.click("#join-button")
    return context, page


async def wait_connected(page: Page, timeout_s: float) -> str:
    deadline = time.monotonic() + timeout_s
    state = ""
    while time.monotonic() < deadline:
        state = await page.inner_text("#connection-text")
        if state == "Connected":
            await page.evaluate(LISTEN_JS)
            return state
        if not await page.is_hidden("#join-error"):
            return "join error: " + await page.inner_text("#join-error")
        await asyncio.sleep(0.2)
    return state


async def wait_captions(pages: dict[str, Page], speakers: list[str], timeout_s: float, out: Path) -> None:
    """Until every page shows a final caption from every speaker (or the time is up).
    The first time a page shows interim text, it is photographed too."""
    deadline = time.monotonic() + timeout_s
    interim_shot = out / "room-interim.png"
    while time.monotonic() < deadline:
        for page in pages.values():
            if not interim_shot.exists() and await page.locator("#captions .caption.interim").count():
                await page.screenshot(path=str(interim_shot))
        shown = [await page.evaluate(CAPTIONS_JS) for page in pages.values()]
        if all({c["speaker"] for c in captions} >= set(speakers) for captions in shown):
            await asyncio.sleep(2.0)  # let a trailing final land
            return
        await asyncio.sleep(0.5)


async def scenario(out: Path, participants: dict[str, Path | None], env: dict[str, str], wait_s: float,
                   hold_s: float, wait_for_models: bool) -> dict:
    result: dict = {"participants": {}}
    async with running_parley(env, wait_for_models=wait_for_models) as parley, async_playwright() as playwright:
        url = parley.url
        opened = await asyncio.gather(*(open_participant(playwright, url, name, wav)
                                        for name, wav in participants.items()))
        pages = {name: page for name, (_, page) in zip(participants, opened)}
        states = await asyncio.gather(*(wait_connected(page, 30) for page in pages.values()))
        connected_at = time.monotonic()
        speakers = [name for name, wav in participants.items() if wav is not None]
        if speakers and wait_s:
            await wait_captions({n: p for n, p in pages.items() if participants[n]}, speakers, wait_s, out)
        await asyncio.sleep(max(0.0, connected_at + hold_s - time.monotonic()))
        for (name, page), state in zip(pages.items(), states):
            await page.screenshot(path=str(out / f"room-{name.lower()}.png"))
            result["participants"][name] = {
                "state": state,
                "captions": await page.evaluate(CAPTIONS_JS),
                "notice": "" if await page.is_hidden("#notice") else await page.inner_text("#notice-text"),
                "join_error": "" if await page.is_hidden("#join-error") else await page.inner_text("#join-error"),
                "people": await page.eval_on_selector_all(".person-name", "els => els.map(e => e.firstChild.textContent)"),
                "peak_heard": await page.evaluate("window.__peakHeard ?? null"),
            }
        for context, _ in opened:
            await context.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--participant", action="append", default=[], help="NAME=WAV, or NAME= for no microphone")
    parser.add_argument("--env", action="append", default=[], help="KEY=VALUE for parley up")
    parser.add_argument("--wait-captions", type=float, default=90.0)
    parser.add_argument("--hold", type=float, default=0.0, help="stay at least this long after connecting")
    parser.add_argument("--no-models", action="store_true", help="do not wait for the inference server")
    args = parser.parse_args()
    if shutil.which(CHROMIUM) is None:
        raise SystemExit(f"{CHROMIUM} not found")
    participants = {}
    for spec in args.participant:
        name, _, wav = spec.partition("=")
        participants[name] = Path(wav) if wav else None
    env = {"PARLEY_WEBRTC_LOOPBACK_ONLY": "0", **dict(item.split("=", 1) for item in args.env)}
    args.out.mkdir(parents=True, exist_ok=True)
    result = asyncio.run(scenario(args.out, participants, env, args.wait_captions, args.hold,
                                    not args.no_models))
    (args.out / "result.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
