"""Turn rules, sentence splitting and prompt layout: pure functions, no server."""

from __future__ import annotations

import re

import pytest

from agent.conversation.context import AssistantLine, ConversationContext, HumanLine
from agent.conversation.prompts import PromptLibrary, ReplyPrompt
from agent.conversation.sentences import SentenceSplitter, speakable, without_label
from agent.conversation.turns import ReplyRule, is_filler


@pytest.mark.parametrize("text", ["", "  ", "Um.", "uh, hmm...", "Mm-hmm.", "[coughing]", "(laughs) uh", "*sigh*", "..."])
def test_filler_and_noise_are_not_turns(text):
    assert is_filler(text)


@pytest.mark.parametrize("text", ["Um, what time is it?", "No.", "Okay", "Paris"])
def test_words_are_turns(text):
    assert not is_filler(text)


def human(speaker: str, text: str, at: float = 0.0) -> HumanLine:
    return HumanLine(speaker.lower(), speaker, text, at)


def test_one_human_gets_an_answer_to_everything():
    context = ConversationContext()
    rule = ReplyRule(["Parley"])
    assert not rule.wants_reply(1, context)
    context.add(human("Ann", "I think it will rain."))
    assert rule.wants_reply(1, context)


def test_several_humans_need_the_name_or_a_follow_up_question():
    rule = ReplyRule(["Parley", "parlay"], follow_up_window_s=20)
    context = ConversationContext()
    context.add(human("Ann", "Did you bring an umbrella?", at=1))
    assert not rule.wants_reply(2, context), "a question between humans is not for the assistant"
    context.add(human("Bob", "Parlay, will it rain tomorrow?", at=2))
    assert rule.wants_reply(2, context), "an alias the ASR writes for the name counts"
    context.add(AssistantLine(at=3, text="Probably, yes.", ended_at=4))
    context.add(human("Bob", "And on Sunday?", at=6))
    assert rule.wants_reply(2, context), "a question right after the assistant spoke is a follow-up"
    context.add(AssistantLine(at=7, text="Sunday looks dry.", ended_at=8))
    context.add(human("Ann", "Then let's go hiking on Sunday.", at=9))
    assert not rule.wants_reply(2, context)
    context.add(AssistantLine(at=10, text="Have fun.", ended_at=11))
    context.add(human("Ann", "Bob, are you free?", at=40))
    assert not rule.wants_reply(2, context), "too long after the assistant spoke"
    assert not rule.addressed("I'm parleying with Bob") and rule.addressed("hey PARLEY.")


def test_sentences_come_out_as_soon_as_they_end():
    splitter = SentenceSplitter()
    assert splitter.push("Paris is lovely") == []
    assert splitter.push(".") == ["Paris is lovely."], "no waiting for the next token"
    out = []
    for token in [" Dr", ".", " Smith", " says", " 3", ".", "5", "!", " Two", " plus", " two", " is", " 4", ".", " Ok"]:
        out += splitter.push(token)
    assert out == ["Dr. Smith says 3.5!", "Two plus two is 4."]
    assert splitter.flush() == ["Ok"]


def test_a_long_first_sentence_is_cut_after_four_words_then_the_rest_by_sentence():
    splitter = SentenceSplitter()
    out = []
    text = "Well, the answer depends on many things, for example the weather. Then more, and more. "
    for word in text.split(" "):
        out += splitter.push(word + " ")
    assert out == ["Well, the answer depends", "on many things, for example the weather.", "Then more, and more."]


def _chunks(text: str) -> list[str]:
    """Stream `text` token by token (a word with its leading space, as LLMs do) through a splitter."""
    splitter = SentenceSplitter()
    out: list[str] = []
    for token in re.findall(r"\s*\S+", text):
        out += splitter.push(token)
    return out + splitter.flush()


@pytest.mark.parametrize("text, chunks", [
    # the first clause goes to TTS alone; later text by sentence
    ("Sure, the capital of France is Paris. It is lovely.",
     ["Sure, the capital of", "France is Paris.", "It is lovely."]),  # "Sure," is one word: kept with the rest
    ("Of course, the capital of France is Paris.", ["Of course,", "the capital of France is Paris."]),
    ("An hour - and a minute - has sixty seconds.", ["An hour -", "and a minute - has sixty seconds."]),
    ("Spiders have legs—insects have six.", ["Spiders have legs—", "insects have six."]),
    ("The tallest mountain on Earth above sea level is Mount Everest in Nepal.",
     ["The tallest mountain on", "Earth above sea level is Mount Everest in Nepal."]),  # 4 words, no mark
    ("Spiders have eight legs.", ["Spiders have eight legs."]),  # short: one sentence
    ("It costs 1,000 dollars, roughly.", ["It costs 1,000 dollars,", "roughly."]),  # no cut inside a number
    ("Yes. Then, later, more words here.", ["Yes.", "Then, later, more words here."]),  # only the first chunk
])
def test_the_first_clause_goes_to_tts_first(text, chunks):
    assert _chunks(text) == chunks


def test_speakable_text_has_no_markup():
    assert speakable("**Paris** is the `capital` 🇫🇷 — see https://example.org\n- one\n- two") == \
        "Paris is the capital — see one two"


def test_the_prompt_grows_at_the_end_only():
    prompt = ReplyPrompt(PromptLibrary(), assistant_name="Parley", room="demo")
    context = ConversationContext()
    context.add(human("Ann", "Hello there."))
    first = prompt.messages(context.window, ["Ann", "Bob"])
    context.add(HumanLine("bob", "Bob", "I am sad today.", 1.0, emotion="sadness"))
    second = prompt.messages(context.window, ["Ann", "Bob"])
    assert [m["role"] for m in second] == ["system", "user"]
    assert second[1]["content"] == "Ann: Hello there.\nBob [sadness]: I am sad today."
    assert second[1]["content"].startswith(first[1]["content"]) and second[0] == first[0]
    assert "Parley" in second[0]["content"] and "Ann and Bob" in second[0]["content"]

    context.add(AssistantLine(at=2, text="Oh no, what happened?"))
    context.add(human("Bob", "My dog is ill."))
    context.add(AssistantLine(at=3, text="I'm sorry to hear", interrupted=True))
    context.add(human("Bob", "Thanks."))
    with_memory = prompt.messages(context.window, ["Ann", "Bob"], memories=["Bob has a dog called Rex."])
    assert [m["role"] for m in with_memory] == ["system", "user", "assistant", "user"]
    assert with_memory[2]["content"] == "Oh no, what happened?"
    # A reply cut short is told in the transcript, never left as an answer the model would imitate.
    assert with_memory[3]["content"].startswith(
        'Bob: My dog is ill.\n(Parley began to answer, "I\'m sorry to hear", and was cut off there.)\n'
        "Bob: Thanks.\n\n")
    assert "Rex" in with_memory[3]["content"]
    without_memory = prompt.messages(context.window, ["Ann", "Bob"])
    assert with_memory[3]["content"].startswith(without_memory[3]["content"]), "memories ride at the end"
    assert prompt.messages([AssistantLine(at=0, text="Hi")], ["Ann"]) == [], "nothing to answer"


def test_an_overlong_transcript_drops_its_oldest_half_at_once():
    context = ConversationContext(max_chars=1000)
    for i in range(30):
        context.add(human("Ann", f"Sentence number {i} is here, and it is long enough."))
    window = context.window
    assert 0 < len(window) < 30 and window[-1].text.startswith("Sentence number 29")
    start = window[0]
    context.add(human("Ann", "One more."))
    assert context.window[0] is start, "one more line does not move the window's start"


def test_a_reply_does_not_start_with_a_transcript_label_the_model_imitated():
    assert without_label("Parley: Paris, of course.", "Parley") == "Paris, of course."
    assert without_label("parley: Paris.", "Parley") == "Paris."
    assert without_label("Ann (2) [anger]: Well, I see.", "Parley") == "Well, I see."
    assert without_label("Ann [surprise]: Oh!", "Parley") == "Oh!"
    assert without_label("Note: it rains.", "Parley") == "Note: it rains."  # a plain sentence keeps its words
    assert without_label("Well: it depends.", "Parley") == "Well: it depends."
