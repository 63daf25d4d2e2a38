// A Parley room on a LiveKit server, with the same interface as ../connection.js's RoomConnection
// (join, setMuted, send, close; "room-event", "state" events), so the page works unchanged.
// Media and presence are LiveKit's; captions arrive as LiveKit transcription text streams
// (topic lk.transcription) and other Parley events as data packets (topic parley.events).
// livekit-client is bundled into ./livekit-client.bundle.js (see package.json): no CDN.

import { ConnectionState, ParticipantKind, Room, RoomEvent, Track } from "./livekit-client.bundle.js";
import { JoinError } from "../connection.js";

const TRANSCRIPTION_TOPIC = "lk.transcription";
const EVENTS_TOPIC = "parley.events";
const STATES = { // LiveKit's connection states, as RTCPeerConnection names them (what the page shows)
  [ConnectionState.Connecting]: "connecting",
  [ConnectionState.Connected]: "connected",
  [ConnectionState.Reconnecting]: "connecting",
  [ConnectionState.SignalReconnecting]: "connecting",
  [ConnectionState.Disconnected]: "closed",
};

export class LiveKitConnection extends EventTarget {
  // `authorization`: the page's "Bearer …" header for the API, when it uses one (else cookies).
  constructor({ room, name, stream, authorization = null }) {
    super();
    this.room = room;
    this.name = name;
    this.stream = stream;
    this.authorization = authorization;
    this.participantId = null;
    this.lk = new Room({ adaptiveStream: true, dynacast: true });
    this.colors = new Map(); // identity -> palette slot, unique among the humans present
    this.players = new Map(); // track sid -> <audio> element
    this._listen();
  }

  async join() {
    const credentials = await this._credentials();
    if (credentials.transport !== "livekit") {
      throw new JoinError("This Parley server does not use LiveKit; reload the page.");
    }
    try {
      await this.lk.connect(credentials.url, credentials.token);
    } catch (err) {
      throw new JoinError(`The LiveKit server cannot be reached (${err.message}).`);
    }
    this.participantId = this.lk.localParticipant.identity;
    const [microphone] = this.stream.getAudioTracks();
    await this.lk.localParticipant.publishTrack(microphone, { source: Track.Source.Microphone });
    const participants = [this.lk.localParticipant, ...this.lk.remoteParticipants.values()];
    this._emit("room-event", { type: "welcome", room: this.room, you: this.participantId,
                               participants: participants.map((p) => this._info(p)) });
    return credentials;
  }

  setMuted(muted) {
    const publication = this.lk.localParticipant.getTrackPublication(Track.Source.Microphone);
    if (publication?.track) (muted ? publication.track.mute() : publication.track.unmute());
  }

  send() {} // presence and keep-alive are LiveKit's; the page has nothing else to tell the agent

  close() {
    this.lk.disconnect();
    for (const player of this.players.values()) player.remove();
    this.players.clear();
    for (const track of this.stream.getTracks()) track.stop();
  }

  async _credentials() {
    const headers = { "Content-Type": "application/json" };
    if (this.authorization) headers.Authorization = this.authorization;
    let response;
    try {
      response = await fetch(`/api/rooms/${encodeURIComponent(this.room)}/token`, {
        method: "POST", headers, credentials: "same-origin", body: JSON.stringify({ name: this.name }),
      });
    } catch {
      throw new JoinError("The Parley server cannot be reached. Check that it is running.");
    }
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new JoinError(body.error?.message || `Joining failed (HTTP ${response.status}).`);
    return body;
  }

  _listen() {
    const lk = this.lk;
    lk.on(RoomEvent.ConnectionStateChanged, (state) => this._emit("state", { state: STATES[state] || "connecting" }));
    lk.on(RoomEvent.ParticipantConnected, (p) => this._emit("room-event", { type: "participant_joined", participant: this._info(p) }));
    lk.on(RoomEvent.ParticipantDisconnected, (p) => {
      this.colors.delete(p.identity);
      this._emit("room-event", { type: "participant_left", participant_id: p.identity, reason: "left" });
    });
    for (const change of [RoomEvent.TrackMuted, RoomEvent.TrackUnmuted]) {
      lk.on(change, (publication, p) => {
        if (publication.source === Track.Source.Microphone) {
          this._emit("room-event", { type: "participant_updated", participant: this._info(p) });
        }
      });
    }
    lk.on(RoomEvent.TrackSubscribed, (track, publication) => {
      if (track.kind !== Track.Kind.Audio) return;
      const player = track.attach(); // one element per voice: the browser mixes them
      player.hidden = true;
      document.body.append(player);
      this.players.set(publication.trackSid, player);
    });
    lk.on(RoomEvent.TrackUnsubscribed, (track, publication) => {
      track.detach();
      this.players.get(publication.trackSid)?.remove();
      this.players.delete(publication.trackSid);
    });
    lk.on(RoomEvent.DataReceived, (payload, participant, kind, topic) => {
      if (topic !== EVENTS_TOPIC) return;
      try {
        this._emit("room-event", JSON.parse(new TextDecoder().decode(payload)));
      } catch { /* not ours */ }
    });
    lk.registerTextStreamHandler(TRANSCRIPTION_TOPIC, async (reader, from) => {
      const text = await reader.readAll();
      this._emit("room-event", caption(text, reader.info.attributes || {}, from.identity, this._nameOf(from.identity)));
    });
  }

  _info(p) {
    const agent = p.kind === ParticipantKind.AGENT;
    if (!agent && !this.colors.has(p.identity)) {
      const used = new Set(this.colors.values());
      let slot = 0;
      while (used.has(slot)) slot += 1;
      this.colors.set(p.identity, slot);
    }
    const microphone = p.getTrackPublication(Track.Source.Microphone);
    return { id: p.identity, name: p.name || p.identity, kind: agent ? "agent" : "human",
             color: this.colors.get(p.identity) || 0, muted: Boolean(microphone?.isMuted) };
  }

  _nameOf(identity) {
    const p = identity === this.lk.localParticipant.identity ? this.lk.localParticipant
      : this.lk.getParticipantByIdentity(identity);
    return p?.name || identity;
  }

  _emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

// One lk.transcription stream as the page's caption event (agent/events.py: CaptionInterim/CaptionFinal).
// Parley's own attributes add the speaker label and emotion; other LiveKit agents' streams work too.
export function caption(text, attributes, senderIdentity, senderName) {
  const final = attributes["lk.transcription_final"] === "true";
  const event = {
    type: final ? "final" : "interim",
    caption_id: attributes["lk.segment_id"] || `${senderIdentity}-${Date.now()}`,
    participant_id: attributes["parley.participant"] || senderIdentity,
    speaker: attributes["parley.speaker"] || senderName,
    speaker_index: Number(attributes["parley.speaker_index"] || 1),
    text,
    start: Number(attributes["parley.start"] || 0),
    end: Number(attributes["parley.end"] || 0),
  };
  if (final) {
    event.emotion = attributes["parley.emotion"] || "neutral";
    event.emotion_score = Number(attributes["parley.emotion_score"] || 0);
    event.interrupted = attributes["parley.interrupted"] === "true";
  }
  return event;
}
