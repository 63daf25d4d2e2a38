"""Real Chromium on the signed-in pages: sign-in, session history, a transcript with speakers,
times and emotions, an export, memories (add, search, edit, delete) and voice enrollment
recorded with MediaRecorder. Screenshots go to artifacts/e2e/pages-*.png.

No WebRTC here, so no network namespace: the API runs in this event loop on 127.0.0.1.
Texts and voices are embedded by stubs at the account services' embedder seam (the routes
and the store are real); the models' own quality is tested in tests/api/accounts.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import uvicorn

from parley.compose import create_embedded_app
from parley.store import SERVICE, Actor
from parley.store.records import NewMemory, NewSegment
from parley.settings import Settings
from tests.api.word_embedder import WordEmbedder
from tests.e2e.browser_room import CHROMIUM, FLAGS

playwright_api = pytest.importorskip("playwright.async_api")
pytestmark = [pytest.mark.e2e, pytest.mark.slow,
              pytest.mark.skipif(shutil.which(CHROMIUM) is None, reason="needs /usr/bin/chromium")]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "e2e"
PASSWORD = "the page test password"
VOICE = Path("/usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0870.wav")


async def seed(app) -> None:
    accounts = app.state.parley.accounts
    admin = Actor.for_user((await accounts.store.get_credentials("admin@parley.local")).id)
    await accounts.store.create_room(admin, "design-review", "Design review")
    started = datetime.now(UTC) - timedelta(hours=2)
    session = await accounts.store.start_session(SERVICE, "design-review", started)
    await accounts.store.append_segments(SERVICE, session.id, [
        NewSegment(speaker="Ann", start=1.2, end=4.0, text="Shall we ship the new onboarding on Friday?",
                   emotion="neutral"),
        NewSegment(speaker="Bob", start=4.8, end=8.1, text="Yes! The tests are finally green.", emotion="joy"),
        NewSegment(speaker="Parley", start=9.0, end=12.5, text="Noted: onboarding ships Friday.", emotion="neutral"),
        NewSegment(speaker="Ann", start=13.0, end=15.2, text="I'm worried about the migration though.",
                   emotion="fear"),
    ])
    await accounts.store.end_session(SERVICE, session.id, started + timedelta(minutes=14))
    await accounts.store.describe_session(SERVICE, session.id, "Onboarding release plan",
                                          "The team agreed to ship the new onboarding on Friday; "
                                          "Ann flagged the data migration as a risk.")
    embedder = WordEmbedder()
    for text in ("Bob's tests run on the nightly build", "Ann lives in Lisbon"):
        await accounts.store.add_memory(admin, NewMemory(text=text), (await embedder.embed([text]))[0])


@pytest.fixture
async def parley_url(tmp_path):
    settings = Settings(data_dir=tmp_path, inference_url="http://127.0.0.1:9", admin_password=PASSWORD,
                        _env_file=None)
    app = create_embedded_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.02)
    app.state.parley.accounts.embedder = app.state.parley.accounts.voices = WordEmbedder()
    await seed(app)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    await task


async def test_the_signed_in_pages_work_with_keyboard_and_mouse(parley_url, tmp_path):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    flags = FLAGS + ["--use-fake-device-for-media-stream", f"--use-file-for-fake-audio-capture={VOICE}"]
    async with playwright_api.async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=flags, headless=True)
        page = await browser.new_page(viewport={"width": 1280, "height": 800}, accept_downloads=True)
        page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
        await page.goto(parley_url)
        await page.wait_for_selector("#signin-view", state="visible")
        await page.fill("#email", "admin@parley.local")
        await page.fill("#password", "a wrong password")
        await page.keyboard.press("Enter")
        await page.wait_for_selector("#signin-error", state="visible")
        assert "Wrong email or password" in await page.inner_text("#signin-error")
        await page.screenshot(path=str(ARTIFACTS / "pages-signin.png"))
        await page.fill("#password", PASSWORD)
        await page.keyboard.press("Enter")
        await page.wait_for_selector("#join-view", state="visible")
        await page.screenshot(path=str(ARTIFACTS / "pages-join.png"))

        # A reload keeps the sign-in (the HttpOnly refresh cookie), never the token in storage.
        await page.reload()
        await page.wait_for_selector("#join-view", state="visible")
        assert await page.evaluate("Object.keys(localStorage).every(k => !/token/i.test(k))")

        # Sessions, by keyboard: the tab, then the session, then the transcript.
        await page.focus(".tab[data-view='sessions-view']")
        await page.keyboard.press("Enter")
        await page.wait_for_selector("#session-list .item-button")
        assert await page.get_attribute(".tab[data-view='sessions-view']", "aria-current") == "page"
        await page.focus("#session-list .item-button")
        await page.keyboard.press("Enter")
        await page.wait_for_selector(".segments .segment")
        rows = await page.eval_on_selector_all(".segment", "els => els.map(e => e.innerText)")
        assert len(rows) == 4 and "Bob" in rows[1] and "0:04" in rows[1] and "Joy" in rows[1]
        assert "Onboarding release plan" in await page.inner_text("#transcript")
        async with page.expect_download() as download:
            await page.click(".exports a:has-text('JSON')")
        exported = json.loads(Path(await (await download.value).path()).read_text())
        assert [s["speaker"] for s in exported["segments"]] == ["Ann", "Bob", "Parley", "Ann"]
        await page.screenshot(path=str(ARTIFACTS / "pages-sessions.png"))

        # Memories: add, search by meaning, edit in place, delete.
        await page.click(".tab[data-view='memories-view']")
        await page.wait_for_selector("#memory-list .memory")
        await page.fill("#memory-text", "The team prefers short standups")
        await page.keyboard.press("Enter")
        await page.wait_for_selector("#memory-list .memory:has-text('short standups')")
        await page.fill("#memory-query", "where does Ann live")
        await page.keyboard.press("Enter")
        await page.wait_for_function("document.querySelector('#memory-list .memory')?.innerText.includes('match')")
        assert "Lisbon" in await page.inner_text("#memory-list .memory >> nth=0")
        await page.screenshot(path=str(ARTIFACTS / "pages-memories-search.png"))
        await page.fill("#memory-query", "")
        await page.keyboard.press("Enter")
        # The whole list again (no scores): an Edit clicked on the search results would open a
        # form that the list's reload then replaces.
        await page.wait_for_function("!document.querySelector('#memory-list').innerText.includes('match')")
        await page.click("#memory-list .memory:has-text('Lisbon') >> button:has-text('Edit')")
        await page.fill("#memory-list form input", "Ann lives in Porto")
        await page.keyboard.press("Enter")
        await page.wait_for_selector("#memory-list .memory:has-text('Porto')")
        await page.click("#memory-list .memory:has-text('nightly') >> button:has-text('Delete')")
        await page.wait_for_function("!document.querySelector('#memory-list').innerText.includes('nightly')")
        await page.screenshot(path=str(ARTIFACTS / "pages-memories.png"))

        # Voice: ~10 s recorded from the (fake) microphone and enrolled.
        await page.click(".tab[data-view='voice-view']")
        await page.fill("#voice-name", "Admin")
        await page.click("#voice-record")
        await page.wait_for_function("document.getElementById('voice-status').innerText.includes('Recording')")
        await page.screenshot(path=str(ARTIFACTS / "pages-voice-recording.png"))
        await page.wait_for_selector("#speaker-list .item:has-text('Admin')", timeout=30_000)
        assert "Saved" in await page.inner_text("#voice-status")
        await page.screenshot(path=str(ARTIFACTS / "pages-voice.png"))

        await page.click("#signout")
        await page.wait_for_selector("#signin-view", state="visible")

        # A new account's one-time password must be replaced at the first sign-in.
        async with httpx.AsyncClient(base_url=parley_url) as http:
            login = await http.post("/api/auth/login", json={"email": "admin@parley.local", "password": PASSWORD})
            created = await http.post("/api/auth/users", json={"email": "cleo@example.test", "display_name": "Cleo"},
                                      headers={"Authorization": f"Bearer {login.json()['access_token']}"})
        await page.fill("#email", "cleo@example.test")
        await page.fill("#password", created.json()["one_time_password"])
        await page.keyboard.press("Enter")
        await page.wait_for_selector("#password-form", state="visible")
        await page.fill("#new-password", "cleo's own long password")
        await page.keyboard.press("Enter")
        await page.wait_for_selector("#join-view", state="visible")
        assert await page.inner_text("#account-name") == "Cleo"
        await browser.close()
