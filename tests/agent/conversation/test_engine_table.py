"""The conversation engine as a table: speech events at virtual times in; what the room sees and
hears out (table.py). Scripted inference: a reply's first token 0.3 s after the request, then a
word every 0.05 s; speech 0.1 s after its request, 0.3 s of audio a word. Speech events as a
stream sends them (harness.speech_events): speech_ended 0.4 s after the words, the final and
the end of turn 0.15 s later."""

from __future__ import annotations

import asyncio

import pytest

from agent.testing import ScriptedReply

from .table import OPTIONS, Case, final, pauses, play, says, starts, stops, turn_ends

PARIS = "The capital of France is Paris."
STORY = "Once upon a time, a dragon lived in a castle. It guarded a heap of gold."  # three chunks to speak

CASES = [
    Case("a direct question gets a spoken captioned reply",
         says("Ann", "What is the capital of France?", at=0.0), [PARIS], expect=[
             "  1.35 state thinking",
             "  1.95 audio starts",  # the first four words go to the voice on their own
             "  1.95 state speaking",
             "  1.95 speaking on",
             "  1.95 says: The capital of France",
             "  3.15 says: The capital of France is Paris.",
             "  3.73 final: The capital of France is Paris.",
             "  3.73 speaking off",
             "  3.73 state listening",
             "  3.73 turn 1 completed, 1.80 s heard",
             "  3.75 audio stops",
         ],
         lines=[("Ann", "What is the capital of France?"), ("Parley", PARIS)]),
    Case("barge-in: the audio stops within a frame, the context keeps the words heard, the interruption is answered",
         says("Ann", "Tell me a story about a dragon.", at=0.0) + says("Ann", "Wait, stop.", at=4.0, speech_s=0.6),
         [STORY, "Sorry, I will stop."], expect=[
             "  1.35 state thinking",
             "  1.95 audio starts",
             "  1.95 state speaking",
             "  1.95 speaking on",
             "  1.95 says: Once upon a time,",
             "  3.15 says: Once upon a time, a dragon lived in a castle.",
             "  4.01 audio stops",  # she spoke up at 4.00: silent within one 20 ms frame
             "  4.40 final (interrupted): Once upon a time, a dragon",
             "  4.40 speaking off",
             "  4.40 state listening",
             "  4.40 turn 1 interrupted, 2.06 s heard",
             "  5.15 state thinking",
             "  5.70 audio starts",
             "  5.70 state speaking",
             "  5.70 speaking on",
             "  5.70 says: Sorry, I will stop.",
             "  6.88 final: Sorry, I will stop.",
             "  6.88 speaking off",
             "  6.88 state listening",
             "  6.88 turn 2 completed, 1.20 s heard",
             "  6.90 audio stops",
         ],
         lines=[("Ann", "Tell me a story about a dragon."), ("Parley (interrupted)", "Once upon a time, a dragon"),
                ("Ann", "Wait, stop."), ("Parley", "Sorry, I will stop.")]),
    Case("false interruption: a cough or a click pauses the reply and it resumes",
         says("Ann", "Tell me a story about a dragon.", at=0.0) + says("Ann", "[coughs]", at=3.0, speech_s=0.2)
         + says("Ann", None, at=6.0, speech_s=0.1),  # no final: resumes once none can come
         [STORY], expect=[
             "  1.35 state thinking",
             "  1.95 audio starts",
             "  1.95 state speaking",
             "  1.95 speaking on",
             "  1.95 says: Once upon a time,",
             "  3.01 audio stops",  # the cough starts at 3.00
             "  3.75 audio starts",  # its final has no words
             "  3.89 says: Once upon a time, a dragon lived in a castle.",
             "  5.67 says: Once upon a time, a dragon lived in a castle. It guarded a heap of gold.",
             "  6.01 audio stops",  # a click: speech, and no final ever
             "  8.55 audio starts",  # 2.05 s after speech_ended (6.50): no final can come now
             " 10.01 final: Once upon a time, a dragon lived in a castle. It guarded a heap of gold.",
             " 10.01 speaking off",
             " 10.01 state listening",
             " 10.01 turn 1 completed, 4.80 s heard",
             " 10.03 audio stops",
         ], lines=[("Ann", "Tell me a story about a dragon."), ("Parley", STORY)]),
    Case("filler and noise get no reply",
         says("Ann", "Um.", at=0.0, speech_s=0.3) + says("Ann", "Hmm...", at=2.0, speech_s=0.3)
         + says("Ann", "[coughing]", at=4.0, speech_s=0.3) + says("Ann", None, at=6.0, speech_s=0.3),
         [], expect=[], lines=[]),
    Case("a pause mid-sentence: speech before any audio was heard drops the reply unheard",
         says("Ann", "So I was thinking that", at=0.0, turn_ends=False)
         + says("Ann", "we could meet on Friday.", at=1.5, turn_ends=False)
         + says("Ann", "What time suits you?", at=2.9),
         ["Unheard one.", "Unheard two.", "At noon."], expect=[
             "  4.25 state thinking",
             "  4.70 audio starts",
             "  4.70 state speaking",
             "  4.70 speaking on",
             "  4.70 says: At noon.",
             "  5.28 final: At noon.",
             "  5.28 speaking off",
             "  5.28 state listening",
             "  5.28 turn 3 completed, 0.60 s heard",
             "  5.30 audio stops",
         ],
         asked=["Ann: So I was thinking that", "Ann: we could meet on Friday.", "Ann: What time suits you?"]),
    Case("someone else speaking before the reply was heard drops it; the next reply answers both",
         says("Ann", "Parley, what time is it?", at=0.0) + says("Bob", "Parley, in which time zone?", at=2.0),
         [ScriptedReply("It is noon.", first_token_s=2.0), "Noon in London."], expect=[
             "  1.35 state thinking",
             "  2.00 state listening",
             "  3.35 state thinking",
             "  3.85 audio starts",
             "  3.85 state speaking",
             "  3.85 speaking on",
             "  3.85 says: Noon in London.",
             "  4.73 final: Noon in London.",
             "  4.73 speaking off",
             "  4.73 state listening",
             "  4.73 turn 2 completed, 0.90 s heard",
             "  4.75 audio stops",
         ], humans=("Ann", "Bob"),
         asked=["Ann: Parley, what time is it?", "Bob: Parley, in which time zone?"]),
    Case("a preflight reply waits for the end of the turn; the same words as final are not asked again",
         starts("Ann", 0.0) + pauses("Ann", "What is the capital of France?", at=1.2, end=1.0)
         + turn_ends("Ann", 3.0, end=0.95) + stops("Ann", 3.0, speech_end=1.0)
         + final("Ann", "What is the capital of France?", at=3.1), [PARIS], expect=[
             "  3.00 state thinking",
             "  3.00 audio starts",
             "  3.00 state speaking",
             "  3.00 speaking on",
             "  3.00 says: The capital of France",
             "  4.20 says: The capital of France is Paris.",
             "  4.78 final: The capital of France is Paris.",
             "  4.78 speaking off",
             "  4.78 state listening",
             "  4.78 turn 1 completed, 1.80 s heard",
             "  4.80 audio stops",
         ],
         asked=["Ann: What is the capital of France?"]),
    Case("words that changed before the turn ended: the first reply is dropped unheard and restarted",
         starts("Ann", 0.0) + pauses("Ann", "How many minutes are there in", at=1.0, end=0.9)
         + pauses("Ann", "How many minutes are there in one hour?", at=2.5, end=2.4)
         + turn_ends("Ann", 3.0, end=2.4) + stops("Ann", 3.0, speech_end=2.4)
         + final("Ann", "How many minutes are there in one hour?", at=3.1),
         ["In what?", "Sixty."], expect=[
             "  3.00 state thinking",
             "  3.00 audio starts",
             "  3.00 state speaking",
             "  3.00 speaking on",
             "  3.00 says: Sixty.",
             "  3.28 final: Sixty.",
             "  3.28 speaking off",
             "  3.28 state listening",
             "  3.28 turn 2 completed, 0.30 s heard",
             "  3.30 audio stops",
         ],
         asked=["Ann: How many minutes are there in", "Ann: How many minutes are there in one hour?"]),
    Case("a turn that ended on later speech drops the reply to the earlier words",
         starts("Ann", 0.0) + pauses("Ann", "Tell me about the", at=1.3, end=1.2)
         + turn_ends("Ann", 2.6, end=2.4) + stops("Ann", 2.8, speech_end=2.4)
         + final("Ann", "Tell me about the moon.", at=2.9),
         ["About the what?", "The moon is bright."], expect=[
             "  2.90 state thinking",
             "  3.45 audio starts",
             "  3.45 state speaking",
             "  3.45 speaking on",
             "  3.45 says: The moon is bright.",
             "  4.63 final: The moon is bright.",
             "  4.63 speaking off",
             "  4.63 state listening",
             "  4.63 turn 2 completed, 1.20 s heard",
             "  4.65 audio stops",
         ],
         asked=["Ann: Tell me about the", "Ann: Tell me about the moon."]),
    Case("words answered before their final keep their place in the conversation",
         starts("Ann", 0.0) + pauses("Ann", "Name a color.", at=1.0, end=0.9) + turn_ends("Ann", 1.1, end=0.9)
         + stops("Ann", 2.0, speech_end=0.9) + final("Ann", "Name a color.", at=2.1, emotion="joy"),
         ["Blue, like the sky."], expect=[
             "  1.10 state thinking",
             "  1.55 audio starts",
             "  1.55 state speaking",
             "  1.55 speaking on",
             "  1.55 says: Blue, like the sky.",
             "  2.73 final: Blue, like the sky.",
             "  2.73 speaking off",
             "  2.73 state listening",
             "  2.73 turn 1 completed, 1.20 s heard",
             "  2.75 audio stops",
         ], lines=[("Ann", "Name a color."), ("Parley", "Blue, like the sky.")]),
    Case("with several people: a turn with the name is answered, a follow-up within the window too, later not",
         says("Ann", "I think it will rain tomorrow.", at=0.0) + says("Bob", "Did you bring an umbrella?", at=2.0)
         + says("Ann", "Parley, what should I wear in the rain?", at=4.0)
         + says("Bob", "And what about in the snow?", at=10.0) + says("Ann", "Is it cold outside?", at=40.0),
         ["Wear a raincoat.", "Wear warm boots."], expect=[
             "  5.35 state thinking",
             "  5.85 audio starts",
             "  5.85 state speaking",
             "  5.85 speaking on",
             "  5.85 says: Wear a raincoat.",
             "  6.73 final: Wear a raincoat.",
             "  6.73 speaking off",
             "  6.73 state listening",
             "  6.73 turn 1 completed, 0.90 s heard",
             "  6.75 audio stops",
             " 11.35 state thinking",
             " 11.85 audio starts",
             " 11.85 state speaking",
             " 11.85 speaking on",
             " 11.85 says: Wear warm boots.",
             " 12.73 final: Wear warm boots.",
             " 12.73 speaking off",
             " 12.73 state listening",
             " 12.73 turn 2 completed, 0.90 s heard",
             " 12.75 audio stops",
         ], humans=("Ann", "Bob"),
         asked=["Ann: Parley, what should I wear in the rain?", "Bob: And what about in the snow?"]),
    Case("the language model failing gives a notice, and the next turn is answered",
         says("Ann", "What is the capital of France?", at=0.0) + says("Ann", "Are you there?", at=5.0),
         [ScriptedReply(PARIS, fail_after=0), "Yes, I am here."], expect=[
             "  1.35 state thinking",
             "  1.35 state listening",
             "  1.35 notice: Parley couldn't answer just now: the language model is unavailable. Try again in a moment.",
             "  1.35 turn 1 failed, 0.00 s heard",
             "  6.35 state thinking",
             "  6.90 audio starts",
             "  6.90 state speaking",
             "  6.90 speaking on",
             "  6.90 says: Yes, I am here.",
             "  8.08 final: Yes, I am here.",
             "  8.08 speaking off",
             "  8.08 state listening",
             "  8.08 turn 2 completed, 1.20 s heard",
             "  8.10 audio stops",
         ]),
    Case("the language model cut off mid-reply: what was heard stays, with a notice",
         says("Ann", "Tell me a story about a dragon.", at=0.0), [ScriptedReply(STORY, fail_after=12)], expect=[
             "  1.35 state thinking",
             "  1.95 audio starts",
             "  1.95 state speaking",
             "  1.95 speaking on",
             "  1.95 says: Once upon a time,",
             "  3.15 says: Once upon a time, a dragon lived in a castle.",
             "  4.93 final: Once upon a time, a dragon lived in a castle.",
             "  4.93 speaking off",
             "  4.93 state listening",
             "  4.93 notice: Parley's answer was cut short by an error.",
             "  4.93 turn 1 failed, 3.00 s heard",
             "  4.95 audio stops",
         ]),
    Case("a language model that stops sending times out into a notice",
         says("Ann", "What is the capital of France?", at=0.0), [ScriptedReply(PARIS, hang_after=2)], expect=[
             "  1.35 state thinking",
             " 11.70 state listening",
             " 11.70 notice: Parley couldn't answer just now: the language model is unavailable. Try again in a moment.",
             " 11.70 turn 1 failed, 0.00 s heard",
         ]),
    Case("an empty answer is a notice, not silence",
         says("Ann", "What is the capital of France?", at=0.0), [ScriptedReply("")], expect=[
             "  1.35 state thinking",
             "  1.35 state listening",
             "  1.35 notice: Parley had no answer to that. Try asking another way.",
             "  1.35 turn 1 empty, 0.00 s heard",
         ]),
    Case("speech synthesis failing shows the answer as text with a notice, and the next turn is spoken",
         says("Ann", "What is the capital of France?", at=0.0) + says("Ann", "Thanks!", at=5.0),
         [ScriptedReply(PARIS, speech_fails=True), "You are welcome."], expect=[
             "  1.35 state thinking",
             "  1.90 final: The capital of France is Paris.",
             "  1.90 state listening",
             "  1.90 notice: Parley couldn't speak its answer, so it is shown as text.",
             "  1.90 turn 1 failed, 0.00 s heard",
             "  6.35 state thinking",
             "  6.85 audio starts",
             "  6.85 state speaking",
             "  6.85 speaking on",
             "  6.85 says: You are welcome.",
             "  7.73 final: You are welcome.",
             "  7.73 speaking off",
             "  7.73 state listening",
             "  7.73 turn 2 completed, 0.90 s heard",
             "  7.75 audio stops",
         ],
         lines=[("Ann", "What is the capital of France?"), ("Parley", PARIS), ("Ann", "Thanks!"),
                ("Parley", "You are welcome.")]),
]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_engine(case: Case):
    played = play(case)
    assert played.timeline == case.expect, "\n".join(played.timeline)
    if case.lines is not None:
        assert played.room.lines() == case.lines
    if case.asked is not None:
        assert played.asked == case.asked


def test_a_final_after_the_reply_to_its_words_ended_fills_in_their_line_and_asks_nothing_more():
    played = play(Case("short reply, late final", starts("Ann", 0.0) + pauses("Ann", "Name a color.", at=1.0, end=0.9)
                       + turn_ends("Ann", 1.1, end=0.9) + stops("Ann", 2.0, speech_end=0.9)
                       + final("Ann", "Name a color.", at=2.1, emotion="joy"), ["Blue."], expect=[]))
    assert played.timeline[-2:] == ["  1.68 turn 1 completed, 0.30 s heard", "  1.70 audio stops"], "done before 2.1"
    [asked, answer] = played.room.conversation.context.lines
    assert (asked.text, asked.emotion, asked.speech_end_at) == ("Name a color.", "joy", 0.9) and answer.text == "Blue."
    assert len(played.inference.chats) == 1


def test_memories_are_recalled_into_the_prompt_and_a_failing_recall_costs_nothing():
    recalled: list[tuple[str, list[str]]] = []

    async def recall(latest: str, speakers: list[str]) -> list[str]:
        recalled.append((latest, speakers))
        if len(recalled) > 1:
            raise RuntimeError("the memory store is down")
        return ["Ann's dog is called Rex."]

    questions = says("Ann", "What is my dog called?", at=0.0) + says("Ann", "And how old is he?", at=5.0)
    played = play(Case("recall", questions, ["He is called Rex.", "I don't know."], expect=[]), recall)
    assert recalled == [("What is my dog called?", ["Ann"]), ("And how old is he?", ["Ann"])]
    first, second = played.inference.chats
    assert "Ann's dog is called Rex." in first[-1]["content"]
    assert "Rex." not in second[-1]["content"].split("And how old is he?")[-1], "no memories the second time"
    assert not [line for line in played.timeline if "notice" in line]
    assert sum("completed" in line for line in played.timeline) == 2


def test_a_recall_that_hangs_is_given_up_at_its_timeout_and_said_so(caplog):
    async def recall(latest: str, speakers: list[str]) -> list[str]:
        await asyncio.Event().wait()
        return []

    played = play(Case("slow recall", says("Ann", "What is my dog called?", at=0.0), ["I don't know."], expect=[]),
                  recall)
    assert sum("completed" in line for line in played.timeline) == 1
    [warning] = [r.getMessage() for r in caplog.records if "memory recall" in r.getMessage()]
    assert "took over" in warning and "without memories" in warning


def test_words_final_before_the_speech_ended_are_answered_once_the_empty_closing_final_comes():
    """The server commits a sentence at its pause, before speech_ended; the utterance's closing final is
    then empty. Without it the engine would wait out `final_timeout_s` for a final after the speech ended."""
    said = starts("Ann", 0.0) + final("Ann", "What is the capital of France?", at=1.0) \
        + stops("Ann", 1.3, speech_end=0.9) + turn_ends("Ann", 1.3, end=0.9)
    closed = play(Case("closing final", said + final("Ann", "", at=1.32), [PARIS], expect=[]))
    unclosed = play(Case("no closing final", said, [PARIS], expect=[]))

    def thinking_at(played) -> float:
        return float(next(line for line in played.timeline if line.endswith("state thinking")).split()[0])

    assert thinking_at(closed) < 1.5
    assert thinking_at(unclosed) > 1.3 + OPTIONS.final_timeout_s
    assert closed.room.lines() == [("Ann", "What is the capital of France?"), ("Parley", PARIS)]
