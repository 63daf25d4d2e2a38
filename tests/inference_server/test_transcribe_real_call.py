"""File transcription of real speech: a real two-person telephone call (pyannote.audio's sample) and a
dev-set splice of two real readers."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.audio import pcm16_array
from bench.devset.sources import pyannote_call
from bench.metrics import der, wer
from bench.reference import read_reference
from inference_server.audio import encode_wav
from inference_server.client import InferenceClient
from inference_server.protocol import SAMPLE_RATE

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def call():
    audio, turns = pyannote_call()
    return encode_wav(pcm16_array(audio), SAMPLE_RATE), turns


@pytest.mark.parametrize("speakers", [None, 2])
async def test_the_two_women_of_a_real_phone_call_are_told_apart(inference_url, call, speakers):
    wav, turns = call
    async with InferenceClient(inference_url, timeout=300) as client:
        transcript = await client.transcribe(wav, filename="call.wav", speakers=speakers)
    assert {s.speaker for s in transcript.segments} == {"S1", "S2"}
    result = der(turns, transcript.segments, collar=0.0)
    # Measured 0.115 unasked and with the count (0.205 from voice embeddings alone, before the
    # segmentation model's cuts and overlaps); the file target is 0.15.
    assert result.der <= 0.15
    assert result.missed <= 0.05  # measured 0.020: who speaks under the other is heard (0.080 without)
    assert any(not s.text for s in transcript.segments)  # the second voice in an overlap: no words of its own


async def test_two_real_readers_with_short_gaps_are_transcribed_word_for_word(inference_url, real_dev_set):
    """LibriVox reader and the cards speaker; the cards' "five five" once decoded as "5, 5, 5, …" to the token cap."""
    conversation = next(c for c in real_dev_set.conversations if c.kind == "spliced-gaps" and not c.telephone)
    reference = read_reference(conversation.stm)
    async with InferenceClient(inference_url, timeout=300) as client:
        transcript = await client.transcribe(Path(conversation.path))
    assert wer(reference.text, transcript.text) <= 0.15, transcript.text  # measured 8.7 % (32.6 % with the loop)
    assert der(reference.turns, transcript.segments, collar=0.0).der <= 0.10  # measured 4.4 %


async def test_two_real_voices_on_a_telephone_line_are_told_apart_without_the_count(inference_url, real_dev_set):
    """The same splice through an 8 kHz telephone band: GE2E embeddings found one speaker here (DER 31 %)."""
    conversation = next(c for c in real_dev_set.conversations if c.kind == "spliced-gaps" and c.telephone)
    reference = read_reference(conversation.stm)
    async with InferenceClient(inference_url, timeout=300) as client:
        transcript = await client.transcribe(Path(conversation.path))
    assert len({s.speaker for s in transcript.segments}) == 2
    assert der(reference.turns, transcript.segments, collar=0.0).der <= 0.10  # measured 4.6 % with CAM++
