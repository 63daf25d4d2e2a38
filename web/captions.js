// The captions log: interim text is replaced in place as it grows, then by the final.
// Interim rows are hidden from screen readers; each final is announced once (role=log).

const STALE_INTERIM_MS = 8000; // an utterance whose final never came (noise) fades away
const STICK_TO_BOTTOM_PX = 200; // follow new captions unless the reader scrolled up

export class CaptionsView {
  constructor(container, emptyNote, people) {
    this.container = container;
    this.emptyNote = emptyNote;
    this.people = people; // participant id -> {name, color, kind}
    this.rows = new Map(); // caption id -> row element
    this.timers = new Map();
  }

  clear() {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.rows.clear();
    this.container.replaceChildren(this.emptyNote);
    this.emptyNote.hidden = false;
  }

  interim(event) {
    const row = this._row(event, true);
    row.querySelector(".caption-text").textContent = event.text;
    clearTimeout(this.timers.get(event.caption_id));
    this.timers.set(event.caption_id, setTimeout(() => this._drop(event.caption_id), STALE_INTERIM_MS));
    this._scroll();
  }

  final(event, { arrived = new Date() } = {}) {
    clearTimeout(this.timers.get(event.caption_id));
    this.timers.delete(event.caption_id);
    // Earlier interims of the same participant that never got a final are noise: drop them.
    for (const [id, row] of this.rows) {
      if (id !== event.caption_id && row.dataset.participant === event.participant_id && row.classList.contains("interim")) {
        this._drop(id);
      }
    }
    const previous = this.rows.get(event.caption_id);
    const row = this._build(event, false, arrived);
    row.querySelector(".caption-text").textContent = event.text;
    const badge = row.querySelector(".badge");
    if (this.people.get(event.participant_id)?.kind === "agent") {
      // The assistant's reply: no emotion to show, but say when someone cut it short.
      badge.textContent = event.interrupted ? "interrupted" : "";
      badge.className = "badge badge-cut";
      badge.title = "Cut short when someone started speaking; the caption shows the words it said";
      badge.hidden = !event.interrupted;
    } else {
      badge.textContent = event.emotion;
      badge.className = `badge emo-${event.emotion}`;
      badge.title = `Emotion: ${event.emotion} (${Math.round(event.emotion_score * 100)}%)`;
      badge.hidden = false;
    }
    if (previous) previous.replaceWith(row); // a new node, so the log announces the final text
    else this.container.append(row);
    this.rows.set(event.caption_id, row);
    this._scroll();
  }

  _row(event, interim) {
    let row = this.rows.get(event.caption_id);
    if (!row) {
      row = this._build(event, interim, new Date());
      this.container.append(row);
      this.rows.set(event.caption_id, row);
    }
    row.querySelector(".speaker").textContent = event.speaker;
    return row;
  }

  _build(event, interim, arrived) {
    this.emptyNote.hidden = true;
    const person = this.people.get(event.participant_id);
    const row = document.createElement("article");
    const voice = event.speaker_index > 1 ? ` v${Math.min(event.speaker_index, 3)}` : "";
    const palette = person?.kind === "agent" ? "agent" : `c${person ? person.color : 0}`;
    row.className = `caption ${palette}${voice}${interim ? " interim" : ""}`;
    row.dataset.participant = event.participant_id;
    if (interim) row.setAttribute("aria-hidden", "true");
    row.innerHTML = `<div class="caption-head"><span class="speaker"></span><time class="time"></time>
      <span class="badge" hidden></span></div><p class="caption-text"></p>`;
    row.querySelector(".speaker").textContent = event.speaker;
    const time = row.querySelector(".time");
    time.dateTime = arrived.toISOString();
    time.textContent = arrived.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    return row;
  }

  _drop(id) {
    clearTimeout(this.timers.get(id));
    this.timers.delete(id);
    this.rows.get(id)?.remove();
    this.rows.delete(id);
    this.emptyNote.hidden = this.rows.size > 0;
  }

  _scroll() {
    const el = this.container;
    if (el.scrollHeight - el.scrollTop - el.clientHeight < STICK_TO_BOTTOM_PX) {
      el.scrollTop = el.scrollHeight;
    }
  }
}
