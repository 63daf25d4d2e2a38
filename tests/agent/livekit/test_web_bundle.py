"""The page's LiveKit mode: livekit-client is bundled into a committed static file (no CDN, no node at
run time), and web/livekit/room.js turns the transport's lk.transcription streams back into the
page's caption events (checked against agent/events.py's schemas, in node when it is installed)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from agent.events import CaptionFinal, CaptionInterim, server_event_adapter
from agent.transports import livekit as transport

WEB = Path(__file__).resolve().parents[3] / "web" / "livekit"


def test_the_bundle_is_committed_pinned_and_exports_what_the_page_imports():
    package = json.loads((WEB / "package.json").read_text())
    lock = json.loads((WEB / "package-lock.json").read_text())
    pinned = package["devDependencies"]["livekit-client"]
    assert lock["packages"]["node_modules/livekit-client"]["version"] == pinned
    bundle = (WEB / "livekit-client.bundle.js").read_text()
    assert bundle.startswith(f"/*! livekit-client {pinned} ")
    exported = set(re.findall(r"(\w+)(?=[,}])", bundle[bundle.rindex("export{"):]))
    imported = re.search(r"import \{([^}]*)\} from \"\./livekit-client\.bundle\.js\"", (WEB / "room.js").read_text())
    assert imported, "room.js imports the bundle by relative path"
    assert {name.strip() for name in imported.group(1).split(",")} <= exported


def test_the_page_reads_the_attributes_the_transport_writes():
    page = (WEB / "room.js").read_text()
    for name in (transport.TOPIC_TRANSCRIPTION, transport.ATTR_SEGMENT_ID, transport.ATTR_FINAL,
                 transport.ATTR_PARTICIPANT, transport.ATTR_SPEAKER, transport.ATTR_SPEAKER_INDEX,
                 transport.ATTR_EMOTION, transport.ATTR_EMOTION_SCORE, transport.ATTR_START, transport.ATTR_END,
                 transport.ATTR_INTERRUPTED,
                 transport.TOPIC_EVENTS):
        assert f'"{name}"' in page, name


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed (only needed to run room.js)")
def test_room_js_turns_transcription_streams_into_caption_events():
    final_attributes = {"lk.segment_id": "ann-1-3", "lk.transcription_final": "true", "lk.transcribed_track_id": "TR_a",
                        "parley.participant": "ann", "parley.speaker": "Ann (2)", "parley.speaker_index": "2",
                        "parley.emotion": "joy", "parley.emotion_score": "0.812", "parley.start": "1.250",
                        "parley.end": "2.500", "parley.interrupted": "true"}
    interim_attributes = {"lk.segment_id": "ann-1-4", "lk.transcription_final": "false", "parley.participant": "ann",
                          "parley.speaker": "Ann"}
    script = ("import { caption } from './room.js';\n"
              f"console.log(JSON.stringify([caption('Hello there', {json.dumps(final_attributes)}, 'ann', 'Ann'),"
              f" caption('Hel', {json.dumps(interim_attributes)}, 'ann', 'Ann'),"
              " caption('From another agent', {'lk.transcription_final': 'true', 'lk.segment_id': 'SG_1'}, 'bot', 'Bot')]));")
    done = subprocess.run(["node", "--input-type=module", "-e", script], cwd=WEB, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    final, interim, foreign = (server_event_adapter.validate_python(e) for e in json.loads(done.stdout))
    assert isinstance(final, CaptionFinal) and isinstance(interim, CaptionInterim)
    assert (final.caption_id, final.participant_id, final.speaker, final.speaker_index) == ("ann-1-3", "ann", "Ann (2)", 2)
    assert (final.emotion, final.emotion_score, final.text) == ("joy", 0.812, "Hello there")
    assert (final.start, final.end, final.interrupted) == (1.25, 2.5, True)
    assert (interim.caption_id, interim.text) == ("ann-1-4", "Hel")
    assert isinstance(foreign, CaptionFinal) and (foreign.speaker, foreign.participant_id) == ("Bot", "bot")
