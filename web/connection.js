// One browser's connection to a Parley room: microphone, RTCPeerConnection, data channel.
// Signalling is a single HTTP round trip (offer with all ICE candidates -> answer).

export class JoinError extends Error {}

const ICE_GATHER_TIMEOUT_MS = 3000;
const PING_INTERVAL_MS = 5000;

export async function openMicrophone() {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    throw new JoinError("This page cannot use a microphone at this address. Open Parley at " +
      "http://localhost or over HTTPS.");
  }
  try {
    // Noise suppression stays off: its artefacts cost Whisper more words than background noise
    // does (measured in the e2e test: 3 of 10 words wrong with it, none without).
    return await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: true, noiseSuppression: false, autoGainControl: true },
    });
  } catch (err) {
    const messages = {
      NotFoundError: "No microphone found. Connect a microphone and try again.",
      OverconstrainedError: "No microphone found. Connect a microphone and try again.",
      NotAllowedError: "Microphone access was blocked. Allow it for this site (the icon in the " +
        "address bar) and try again.",
      NotReadableError: "The microphone is busy or unavailable. Close other apps using it and try again.",
      SecurityError: "This page cannot use a microphone at this address. Open it over HTTPS.",
    };
    throw new JoinError(messages[err.name] || `The microphone could not be opened (${err.name}).`);
  }
}

export class RoomConnection extends EventTarget {
  constructor({ room, name, token, stream, iceServers }) {
    super();
    this.room = room;
    this.name = name;
    this.token = token; // a join token from POST /api/rooms/{room}/token
    this.stream = stream;
    this.pc = new RTCPeerConnection({ iceServers });
    this.channel = this.pc.createDataChannel("parley", { ordered: true });
    this.participantId = null;
    this._ping = null;
    for (const track of stream.getAudioTracks()) this.pc.addTrack(track, stream);
    this.pc.addEventListener("track", (e) => this._emit("track", { stream: e.streams[0] || new MediaStream([e.track]) }));
    this.pc.addEventListener("connectionstatechange", () => this._emit("state", { state: this.pc.connectionState }));
    this.channel.addEventListener("message", (e) => this._onMessage(e.data));
    this.channel.addEventListener("open", () => {
      this._ping = setInterval(() => this.send({ type: "ping" }), PING_INTERVAL_MS);
    });
    this.channel.addEventListener("close", () => clearInterval(this._ping));
  }

  async join() {
    await this.pc.setLocalDescription(await this.pc.createOffer());
    await this._iceGathered();
    let response;
    try {
      response = await fetch(`/api/rooms/${encodeURIComponent(this.room)}/join`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ token: this.token, sdp: this.pc.localDescription.sdp, type: "offer" }),
      });
    } catch {
      throw new JoinError("The Parley server cannot be reached. Check that it is running.");
    }
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      throw new JoinError(body.error?.message || `Joining failed (HTTP ${response.status}).`);
    }
    this.participantId = body.participant.id;
    await this.pc.setRemoteDescription({ type: "answer", sdp: body.sdp });
    return body;
  }

  setMuted(muted) {
    for (const track of this.stream.getAudioTracks()) track.enabled = !muted;
    this.send({ type: "mute", muted });
  }

  send(message) {
    if (this.channel.readyState === "open") this.channel.send(JSON.stringify(message));
  }

  close() {
    this.send({ type: "leave" });
    clearInterval(this._ping);
    // Give the leave message a moment on the wire before the connection goes.
    setTimeout(() => this.pc.close(), 150);
    for (const track of this.stream.getTracks()) track.stop();
  }

  _iceGathered() {
    if (this.pc.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        if (this.pc.iceGatheringState === "complete") resolve();
      };
      this.pc.addEventListener("icegatheringstatechange", done);
      setTimeout(resolve, ICE_GATHER_TIMEOUT_MS); // go with what we have
    });
  }

  _onMessage(raw) {
    let event;
    try {
      event = JSON.parse(raw);
    } catch {
      return;
    }
    this._emit("room-event", event);
  }

  _emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
