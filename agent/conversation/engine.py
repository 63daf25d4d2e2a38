"""The assistant's side of one room's conversation, whatever the transport.

Fed the room's speech events and transcripts (`push`), it keeps one shared context labelled
by speaker, decides which turns are meant for the assistant (turns.py), speaks the reply
(reply.py) into an `AudioOutput`, publishes the assistant's captions, state, notices and
per-turn metrics, and yields the floor when a human talks over it. When a turn is over is
the inference server's call (`UserTurnEnded`); the reply starts before that, on the words of
the pause (`UserPreflight`) or the final, and its audio waits for the end of the turn:

- the words change before the turn ends (the speaker went on): the reply is dropped unheard
  and started again on the new words;

- speech starts before any of the reply was heard (the turn was not over, or someone else
  spoke up): the reply is dropped unheard, and the turn is decided again once it is quiet;
- speech starts while the reply plays: its audio pauses at once; the first transcribed
  words make it an interruption (the reply stops for good and the context keeps only the
  words heard); if the final has no words (a cough, "mm-hmm") or never comes, it resumes
  with the sentences generated so far.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from pydantic import BaseModel

from ..events import (
    AssistantNotice,
    AssistantState,
    CaptionFinal,
    CaptionInterim,
    ParticipantInfo,
    Speaking,
    TurnMetrics,
)
from ..ports import Inference
from .audio_output import AudioOutput
from .context import AssistantLine, ConversationContext, HumanLine
from .events import (UserInput, UserPreflight, UserStartedSpeaking, UserStoppedSpeaking, UserTranscript,
                     UserTurnEnded, now)
from .metrics import BARGE_INS, NOTICES, record_turn
from .options import NOTICE_TEXTS, ConversationOptions
from .prefill import Prefiller
from .prompts import PromptLibrary, ReplyPrompt
from .reply import ReplyResult, SpokenReply
from .turns import ReplyRule, is_filler, words

log = logging.getLogger(__name__)

Publish = Callable[[BaseModel], Awaitable[None]]
Recall = Callable[[str, list[str]], Awaitable[list[str]]]  # (latest words, speakers) -> memories


@dataclass(eq=False)
class _Turn:
    number: int
    reply: SpokenReply
    speech_end_at: float | None  # when the words being answered ended
    final_at: float | None  # when their transcript arrived
    speaker_id: str  # whose words ended the turn: their end of turn lets the audio play
    answers: HumanLine  # the last words it answers
    timers: list[asyncio.Task] = field(default_factory=list)
    preflight: UserPreflight | None = None  # started on these words, not yet final
    pending: HumanLine | None = None  # the preflight's words as a line: into the context once heard
    confirmed_at: float | None = None
    line: AssistantLine | None = None  # in the context once its audio started
    paused: bool = False
    closed: bool = False


class RoomConversation:
    def __init__(self, client: Inference, output: AudioOutput, publish: Publish, *, room: str,
                 assistant: ParticipantInfo, options: ConversationOptions | None = None,
                 prompts: PromptLibrary | None = None, recall: Recall | None = None) -> None:
        self.options = options or ConversationOptions()
        self.assistant = assistant
        self.room = room
        self.output = output
        self.context = ConversationContext(max_chars=self.options.max_transcript_chars)
        self._client = client
        self._publish = publish
        self._recall = recall
        self._prompt = ReplyPrompt(prompts or PromptLibrary(), assistant_name=assistant.name, room=room)
        self._rule = ReplyRule([assistant.name, *self.options.aliases],
                               follow_up_window_s=self.options.follow_up_window_s)
        self._prefiller = Prefiller(client)
        self._humans: dict[str, ParticipantInfo] = {}
        self._speaking: set[str] = set()
        self._awaiting_finals: dict[str, list[tuple[float, float]]] = {}  # id -> [(stopped at, speech end)]
        # participant -> where the server ended their turn (stream seconds); None while it goes on
        self._turn_over: dict[str, float | None] = {}
        self._turn: _Turn | None = None
        self._turns = 0
        self._failed_on: HumanLine | None = None  # a failed reply's words: not retried, the notice says try again
        self._answered_early: dict[str, HumanLine] = {}  # id -> preflight words whose reply ended before their final
        self._state = "listening"
        self._tasks: set[asyncio.Task] = set()
        self._clock0 = now()  # the assistant's caption times count from here

    # --- the room -----------------------------------------------------------------------------

    async def participant_joined(self, participant: ParticipantInfo) -> None:
        if participant.kind == "human":
            self._humans[participant.id] = participant
            if self._turn is None:
                self._prefill()  # the system prompt names the people: evaluate it before anyone speaks

    async def participant_left(self, participant: ParticipantInfo) -> None:
        self._humans.pop(participant.id, None)
        self._speaking.discard(participant.id)
        self._awaiting_finals.pop(participant.id, None)
        self._answered_early.pop(participant.id, None)
        await self._maybe_start_turn()

    async def push(self, event: UserInput) -> None:
        if isinstance(event, UserStartedSpeaking):
            await self._speech_started(event)
        elif isinstance(event, UserStoppedSpeaking):
            await self._speech_stopped(event)
        elif isinstance(event, UserPreflight):
            await self._preflight(event)
        elif isinstance(event, UserTurnEnded):
            await self._turn_ended(event)
        elif event.is_final:
            await self._final(event)
        else:
            await self._interim(event)

    # --- inputs -------------------------------------------------------------------------------

    async def _speech_started(self, event: UserStartedSpeaking) -> None:
        self._speaking.add(event.participant_id)
        self._turn_over[event.participant_id] = None
        turn = self._turn
        if turn is None or turn.paused:
            return
        if turn.line is None:  # nothing heard yet: answer when the room is quiet again, with all that was said
            log.info("room %s: %s spoke before turn %d was heard; reply dropped", self.room,
                     event.participant_id, turn.number)
            await self._close_turn(turn, None)
            return
        turn.paused = True
        turn.reply.pause()  # silence at once; whether it was a real interruption is known from the words
        log.info("room %s: %s talks over turn %d; paused", self.room, event.participant_id, turn.number)

    async def _speech_stopped(self, event: UserStoppedSpeaking) -> None:
        self._speaking.discard(event.participant_id)
        self._awaiting_finals.setdefault(event.participant_id, []).append((event.at, event.speech_end_at))
        turn = self._turn
        if turn is not None and turn.paused and not self._speaking:
            turn.timers.append(self._later(self.options.final_timeout_s + 0.05, self._resume, turn))
        self._later(self.options.final_timeout_s + 0.05, self._maybe_start_turn)  # if the final never comes
        await self._maybe_start_turn()

    async def _interim(self, event: UserTranscript) -> None:
        if is_filler(event.text):
            return
        turn = self._turn
        if turn is not None and turn.paused:
            await self._interrupt(turn)
        if self._turn is None and self.options.prefill_interims:
            self._prefill(HumanLine(event.participant_id, event.speaker, event.text, event.at, event.emotion))

    async def _final(self, event: UserTranscript) -> None:
        pending = self._awaiting_finals.get(event.participant_id)
        _, speech_end_at = pending.pop(0) if pending else (event.at, None)
        turn = self._turn
        if is_filler(event.text):
            if event.text:  # empty: closes an utterance whose words were final already
                log.info("room %s: not a turn: %r", self.room, event.text)
            if turn is not None and turn.paused and not self._speaking:
                await self._resume(turn)
            await self._maybe_start_turn()
            return
        if turn is not None and turn.paused:
            await self._interrupt(turn)
        line = HumanLine(event.participant_id, event.speaker, event.text, event.at, event.emotion,
                         event.emotion_score, speech_end_at)
        early = self._answered_early.pop(event.participant_id, None)
        if early is not None and _same_words(early.text, event.text):  # in the context already, answered
            vars(early).update(vars(line))
            line = None
        elif turn is not None and turn.preflight is not None and turn.preflight.participant_id == event.participant_id:
            if _same_words(turn.preflight.text, event.text) or turn.line is not None:
                turn.preflight = None  # the words it answers are final now
                turn.speech_end_at = turn.speech_end_at or speech_end_at
                if turn.line is not None and turn.pending is not None:  # heard already: its line is in
                    vars(turn.pending).update(vars(line))
                    line = None
                turn.pending = None
            else:
                log.info("room %s: words changed after preflight of turn %d; reply restarts", self.room, turn.number)
                await self._close_turn(turn, None)
        if line is not None:
            self.context.add(line)
        await self._maybe_start_turn()
        if self._turn is None:
            self._prefill()

    async def _preflight(self, event: UserPreflight) -> None:
        log.debug("room %s: preflight from %s: %r", self.room, event.participant_id, event.text)
        if is_filler(event.text):
            return
        turn = self._turn
        if turn is not None and turn.preflight is not None and turn.preflight.participant_id == event.participant_id:
            if _same_words(turn.preflight.text, event.text) or turn.line is not None:
                return
            log.info("room %s: words changed during turn %d's pause; reply restarts", self.room, turn.number)
            await self._close_turn(turn, None)
        await self._maybe_start_turn(event)

    async def _turn_ended(self, event: UserTurnEnded) -> None:
        log.debug("room %s: %s's turn ended", self.room, event.participant_id)
        self._turn_over[event.participant_id] = event.end
        turn = self._turn
        if turn is not None and turn.speaker_id == event.participant_id and not turn.confirmed_at:
            if turn.preflight is not None and event.end > turn.preflight.end + 0.05:
                # The turn ended on later speech than the words this reply answers: never play it.
                log.info("room %s: turn %d answered old words; dropped", self.room, turn.number)
                await self._close_turn(turn, None)
            else:
                await self._confirm(turn)
        await self._maybe_start_turn()

    # --- turns --------------------------------------------------------------------------------

    async def _maybe_start_turn(self, preflight: UserPreflight | None = None) -> None:
        """Start a reply if one is due: on the context's unanswered lines, plus `preflight`'s words."""
        if self._turn is not None:
            return
        speaker = preflight.participant_id if preflight else None
        if self._speaking - {speaker} or self._finals_pending(besides=speaker):
            return
        pending = (HumanLine(preflight.participant_id, preflight.speaker, preflight.text, preflight.at)
                   if preflight else None)
        if not self._rule.wants_reply(len(self._humans), self.context, pending):
            return
        last = pending or self.context.unanswered()[-1]
        if last is self._failed_on:
            return
        self._turns += 1
        turn = _Turn(self._turns, SpokenReply(self._client, self.output, [], self.options.reply, name=self.assistant.name),
                     speech_end_at=last.speech_end_at, final_at=last.at, speaker_id=last.participant_id,
                     answers=last, preflight=preflight, pending=pending)
        turn.reply.on_progress = lambda text: self._progress(turn, text)
        turn.reply.stop = [f"\n{p.name}:" for p in self._humans.values()]
        self._turn = turn
        self._prefiller.drop_pending()
        ended = self._turn_over.get(last.participant_id)
        if ended is not None and (preflight is None or preflight.end + 0.05 >= ended):
            turn.timers.append(self._later(0.0, self._confirm, turn))  # the turn is over already
        else:
            turn.timers.append(self._later(self.options.end_of_turn_timeout_s, self._end_of_turn_timeout, turn))
        log.debug("room %s: turn %d starts on %s", self.room, turn.number, "preflight" if preflight else "final")
        self._spawn(self._run_turn(turn, pending))

    async def _run_turn(self, turn: _Turn, pending: HumanLine | None) -> None:
        lines = self.context.window + ([pending] if pending else [])
        latest = lines[-1].text
        turn.reply.messages = self._prompt.messages(lines, self._people())
        if self._recall is not None:
            # Memories go at the very end of the prompt: the rest is evaluated while they are looked up.
            self._prefiller.request(turn.reply.messages)
            try:
                speakers = sorted({line.speaker for line in self.context.unanswered()})
                memories = await asyncio.wait_for(self._recall(latest, speakers), self.options.recall_timeout_s)
            except TimeoutError:
                log.warning("room %s: memory recall took over %.1f s; replying without memories", self.room,
                            self.options.recall_timeout_s)
                memories = []
            except Exception as exc:  # noqa: BLE001 - a reply without memories beats no reply
                log.warning("room %s: memory recall failed: %r", self.room, exc)
                memories = []
            log.debug("room %s: turn %d recalled %d memories", self.room, turn.number, len(memories))
            if memories:
                turn.reply.messages = self._prompt.messages(lines, self._people(), memories=memories)
        try:
            result = await turn.reply.run()
        except Exception:  # one broken reply must not end the room's assistant
            log.exception("room %s: reply %d failed", self.room, turn.number)
            result = ReplyResult(text="", failure="llm")
        if not turn.closed:
            await self._close_turn(turn, result)

    async def _confirm(self, turn: _Turn) -> None:
        if turn.closed or turn.confirmed_at is not None:
            return
        turn.confirmed_at = now()
        turn.reply.confirm()
        if turn.line is None:
            await self._set_state("thinking")

    async def _end_of_turn_timeout(self, turn: _Turn) -> None:
        """No end of turn came: play a reply to final words; one on words never made final is dropped."""
        if turn.preflight is not None and turn.line is None:
            await self._close_turn(turn, None)
            await self._maybe_start_turn()
        else:
            await self._confirm(turn)

    async def _progress(self, turn: _Turn, heard: str) -> None:
        """A sentence of the reply started playing: caption it (the first one also starts the line)."""
        if turn.closed:
            return
        if turn.line is None:
            self._commit_pending(turn)
            turn.line = self.context.add(AssistantLine(at=now()))
            await self._set_state("speaking")
            await self._send(Speaking(participant_id=self.assistant.id, speaking=True))
        turn.line.text = heard
        await self._send(CaptionInterim(caption_id=self._caption_id(turn), participant_id=self.assistant.id,
                                        speaker=self.assistant.name, text=heard, start=self._clock(turn.line.at),
                                        end=self._clock(now())))

    async def _interrupt(self, turn: _Turn) -> None:
        BARGE_INS.labels(result="interrupted").inc()
        turn.reply.interrupt()
        result = turn.reply.result()
        log.info("room %s: turn %d interrupted after %r", self.room, turn.number, result.text)
        await self._close_turn(turn, result)

    async def _resume(self, turn: _Turn) -> None:
        """Words would have interrupted it: with nobody speaking and no final to come, it was noise."""
        if turn.closed or not turn.paused or self._speaking or self._finals_pending():
            return
        BARGE_INS.labels(result="resumed").inc()
        turn.paused = False
        turn.reply.resume()
        log.info("room %s: no words came; turn %d resumes", self.room, turn.number)

    async def _close_turn(self, turn: _Turn, result: ReplyResult | None) -> None:
        """End `turn`: `result` None drops it unheard (the speaker was not done)."""
        turn.closed = True
        if self._turn is turn:
            self._turn = None
        for timer in turn.timers:
            timer.cancel()
        if result is None:
            turn.reply.interrupt()
            await self._set_state("listening")
            return
        ended = now()
        if turn.line is None and result.text:  # speech failed before any audio: the text is shown
            self._commit_pending(turn)
            turn.line = self.context.add(AssistantLine(at=ended))
        if turn.line is not None:
            if turn.preflight is not None and turn.pending is not None:  # heard; their final is still to come
                self._answered_early[turn.speaker_id] = turn.pending
            turn.line.text, turn.line.interrupted, turn.line.ended_at = result.text, result.interrupted, ended
            if result.text:
                await self._send(CaptionFinal(
                    caption_id=self._caption_id(turn), participant_id=self.assistant.id, speaker=self.assistant.name,
                    text=result.text, start=self._clock(turn.line.at), end=self._clock(ended), emotion="neutral",
                    emotion_score=1.0, interrupted=result.interrupted))
            if result.first_audio_at is not None:
                await self._send(Speaking(participant_id=self.assistant.id, speaking=False))
        await self._set_state("listening")
        if result.failure:
            self._failed_on = turn.answers
            NOTICES.inc()
            await self._send(AssistantNotice(message=NOTICE_TEXTS[result.failure].format(name=self.assistant.name)))
        await self._report(turn, result)
        if result.failure is None:
            await self._maybe_start_turn()  # someone may have spoken to it meanwhile

    async def _report(self, turn: _Turn, result: ReplyResult) -> None:
        end = turn.speech_end_at
        first_audio = result.first_audio_at

        def since_end(at: float | None) -> float | None:
            return round(at - end, 3) if at is not None and end is not None else None

        outcome = ("interrupted" if result.interrupted else "empty" if result.failure == "empty"
                   else "failed" if result.failure else "completed")
        metrics = TurnMetrics(turn=turn.number, outcome=outcome, end_of_utterance_delay=since_end(turn.confirmed_at),
                              transcription_delay=since_end(turn.final_at), e2e_latency=since_end(first_audio),
                              ttft=_rounded(result.ttft), ttfb=_rounded(result.ttfb), reply_audio_s=result.audio_s)
        record_turn(self.room, metrics)
        await self._send(metrics)

    # --- helpers ------------------------------------------------------------------------------

    def _commit_pending(self, turn: _Turn) -> None:
        """The room hears an answer to words not yet final: they go into the context first, in order."""
        if turn.pending is not None and turn.preflight is not None:
            self.context.add(turn.pending)

    def _finals_pending(self, besides: str | None = None) -> bool:
        """A final is still to come for speech that ended (one that has not come in time never will)."""
        at = now()
        for waits in self._awaiting_finals.values():
            waits[:] = [w for w in waits if at - w[0] < self.options.final_timeout_s]
        return any(waits for pid, waits in self._awaiting_finals.items() if pid != besides)

    def _people(self) -> list[str]:
        return sorted(p.name for p in self._humans.values())

    def _prefill(self, pending: HumanLine | None = None) -> None:
        lines = self.context.window + ([pending] if pending else [])
        people = self._people()
        messages = self._prompt.messages(lines, people) or [{"role": "system", "content": self._prompt.system(people)}]
        self._prefiller.request(messages)

    def _caption_id(self, turn: _Turn) -> str:
        return f"{self.assistant.id}-{self._clock0:.0f}-{turn.number}"

    def _clock(self, at: float) -> float:
        return round(at - self._clock0, 3)

    async def _set_state(self, state: str) -> None:
        if state != self._state:
            self._state = state
            await self._send(AssistantState(state=state))

    async def _send(self, event: BaseModel) -> None:
        try:
            await self._publish(event)
        except Exception:  # a closed channel must not stop the conversation
            log.exception("room %s: could not publish %s", self.room, type(event).__name__)

    def _spawn(self, coro) -> asyncio.Task:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _later(self, delay: float, fn, *args) -> asyncio.Task:
        async def call() -> None:
            await asyncio.sleep(delay)
            await fn(*args)

        return self._spawn(call())

    async def aclose(self) -> None:
        if self._turn is not None:
            self._turn.reply.interrupt()
        await self._prefiller.aclose()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


def _rounded(value: float | None) -> float | None:
    return round(value, 3) if value is not None else None


def _same_words(a: str, b: str) -> bool:
    return words(a) == words(b)
