"""Short questions for ASR: piper and espeak renders, kept apart from the real recordings.

Synthetic voices are here for comparison with earlier measurements, never for quality claims
on their own; espeak's prosody is not human and every model mishears it, so it is reported
separately (docs/decisions.md).
"""

from __future__ import annotations

import shutil

QUESTIONS = (
    "What is the opposite of hot?",
    "What color is the sky on a clear day?",
    "What is the capital of France?",
    "How many legs does a spider have?",
    "Who wrote Pride and Prejudice?",
    "Which planet is closest to the sun?",
    "How far is the moon from the earth?",
    "What is the boiling point of water?",
    "How many days are in a leap year?",
    "Should I bring an umbrella today?",
    "Is the meeting still on for Friday?",
    "Can you remind me to call my sister tomorrow?",
    "What did we decide about the budget?",
    "How do you say thank you in Spanish?",
    "What time does the train leave?",
    "Why is the ocean salty?",
)
PIPER_VOICES = ("piper:en_US-joe-medium",)
ESPEAK_VOICES = ("espeak:en-us+m3", "espeak:en-us+f3")


def synthetic_voices() -> dict[str, tuple[str, ...]]:
    """origin -> voices that can be rendered on this machine."""
    from bench.audio import piper_available

    voices: dict[str, tuple[str, ...]] = {}
    if piper_available():
        voices["piper"] = PIPER_VOICES
    if shutil.which("espeak-ng"):
        voices["espeak"] = ESPEAK_VOICES
    return voices
