// The Parley page: sign-in, the join form, then the room (people, live captions, mute, leave).
// Sessions, memories and voice enrollment are in library.js.

import { api, ApiError, session } from "./auth.js";
import { CaptionsView } from "./captions.js";
import { JoinError, RoomConnection, openMicrophone } from "./connection.js";
import { showHome, startPage } from "./library.js";

const $ = (id) => document.getElementById(id);
const ui = {
  joinView: $("join-view"), roomView: $("room-view"), form: $("join-form"), name: $("name"), room: $("room"),
  joinButton: $("join-button"), joinError: $("join-error"), roomName: $("room-name"), copyLink: $("copy-link"),
  connection: $("connection"), connectionText: $("connection-text"), peopleList: $("people-list"),
  peopleCount: $("people-count"), notice: $("notice"), noticeText: $("notice-text"), captions: $("captions"),
  captionsEmpty: $("captions-empty"), mute: $("mute"), muteIcon: $("mute-icon"), muteLabel: $("mute-label"),
  leave: $("leave"), audio: $("room-audio"), micLevel: $("mic-level"),
};

const people = new Map(); // participant id -> ParticipantInfo
const speaking = new Set();
const ASSISTANT_NOTICE_MS = 8000;
let assistantState = "listening";
let captionsNotice = ""; // shown while live captions are down; an assistant notice shows over it for a while
let noticeTimer = null;
const captions = new CaptionsView(ui.captions, ui.captionsEmpty, people);
let connection = null;
let muted = false;
let meter = null;

// ---------- join ----------

function roomSlug(text) {
  return text.toLowerCase().trim().replace(/[^a-z0-9-]+/g, "-").replace(/-+/g, "-").replace(/^-|-$/g, "").slice(0, 40);
}

function showJoinError(message, field) {
  ui.joinError.textContent = message;
  ui.joinError.hidden = !message;
  for (const input of [ui.name, ui.room]) input.removeAttribute("aria-invalid");
  if (field) {
    field.setAttribute("aria-invalid", "true");
    field.focus();
  }
}

ui.room.addEventListener("change", () => { ui.room.value = roomSlug(ui.room.value); });

ui.form.addEventListener("submit", async (e) => {
  e.preventDefault();
  const name = ui.name.value.trim();
  const room = roomSlug(ui.room.value);
  ui.room.value = room;
  if (!name) return showJoinError("Enter your name: the others see it next to your captions.", ui.name);
  if (!room) return showJoinError("Enter a room name, e.g. team-standup.", ui.room);
  showJoinError("");
  ui.joinButton.disabled = true;
  ui.joinButton.querySelector("span").textContent = "Joining…";
  try {
    await join(name, room);
  } catch (err) {
    leaveRoom({ silent: true });
    showJoinError(err instanceof JoinError ? err.message : `Something went wrong: ${err.message}`);
  } finally {
    ui.joinButton.disabled = false;
    ui.joinButton.querySelector("span").textContent = "Join room";
  }
});

// The room is created on first use (a private room: only its owner and invited members
// get a join token); the token names the room and this person's caption label.
async function joinToken(name, room) {
  try {
    await api("/api/rooms", { method: "POST", json: { name: room } });
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 409)) throw err; // 409: it exists already
  }
  try {
    return (await api(`/api/rooms/${encodeURIComponent(room)}/token`, { method: "POST", json: { name } })).token;
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) {
      throw new JoinError(`The room “${room}” is private: ask its owner to invite ${session.user.email}.`);
    }
    throw new JoinError(err.message);
  }
}

async function join(name, room) {
  const config = await api("/api/config").catch(() => ({ ice_servers: [] }));
  const token = await joinToken(name, room);
  const stream = await openMicrophone();
  if (config.transport === "livekit") {
    // LiveKit mode: the bundled livekit-client joins the SFU with a LiveKit access token.
    const { LiveKitConnection } = await import("./livekit/room.js");
    connection = new LiveKitConnection({ room, name, stream, authorization: session.authorization });
  } else {
    connection = new RoomConnection({ room, name, token, stream, iceServers: config.ice_servers || [] });
  }
  connection.addEventListener("room-event", (e) => onRoomEvent(e.detail));
  connection.addEventListener("state", (e) => setConnectionState(e.detail.state));
  connection.addEventListener("track", (e) => { ui.audio.srcObject = e.detail.stream; ui.audio.play().catch(() => {}); });
  await connection.join();
  localStorage.setItem("parley.name", name);
  history.replaceState(null, "", `?room=${encodeURIComponent(room)}`);
  enterRoom(room, stream);
}

// ---------- room ----------

function enterRoom(room, stream) {
  people.clear();
  speaking.clear();
  captions.clear();
  assistantState = "listening";
  captionsNotice = "";
  clearTimeout(noticeTimer);
  noticeTimer = null;
  setNotice("");
  setMuted(false, { tell: false });
  ui.roomName.textContent = room;
  document.title = `${room} · Parley`;
  showHome(null);
  ui.roomView.hidden = false;
  setConnectionState("connecting");
  startMeter(stream);
  ui.mute.focus();
}

function leaveRoom({ silent = false } = {}) {
  connection?.close();
  connection = null;
  meter?.close();
  meter = null;
  ui.audio.srcObject = null;
  if (silent) return;
  ui.roomView.hidden = true;
  showHome("join-view");
  document.title = "Parley";
  showJoinError("");
  ui.joinButton.focus();
}

function onRoomEvent(event) {
  switch (event.type) {
    case "welcome":
      for (const p of event.participants) people.set(p.id, p);
      renderPeople();
      break;
    case "participant_joined":
    case "participant_updated":
      people.set(event.participant.id, event.participant);
      renderPeople();
      break;
    case "participant_left":
      people.delete(event.participant_id);
      speaking.delete(event.participant_id);
      renderPeople();
      break;
    case "speaking":
      if (event.speaking) speaking.add(event.participant_id);
      else speaking.delete(event.participant_id);
      renderPeople();
      break;
    case "interim":
      captions.interim(event);
      break;
    case "final":
      captions.final(event);
      break;
    case "caption_history":
      for (const caption of event.captions) captions.final(caption);
      break;
    case "captions_status":
      captionsNotice = event.available ? "" : event.message;
      if (!noticeTimer) setNotice(captionsNotice);
      break;
    case "assistant_state":
      assistantState = event.state;
      renderPeople();
      break;
    case "assistant_notice":
      clearTimeout(noticeTimer);
      setNotice(event.message);
      noticeTimer = setTimeout(() => { noticeTimer = null; setNotice(captionsNotice); }, ASSISTANT_NOTICE_MS);
      break;
  }
}

const AGENT_ROLES = { listening: "AI assistant", thinking: "Thinking…", speaking: "Speaking" };

function initials(name) {
  const words = name.trim().split(/\s+/);
  return ((words[0]?.[0] || "") + (words.length > 1 ? words[words.length - 1][0] : "")).toUpperCase();
}

function renderPeople() {
  const me = connection?.participantId;
  const sorted = [...people.values()].sort((a, b) =>
    (a.kind === "agent") - (b.kind === "agent") || (b.id === me) - (a.id === me) || a.name.localeCompare(b.name));
  ui.peopleList.replaceChildren(...sorted.map((p) => {
    const li = document.createElement("li");
    const thinking = p.kind === "agent" && assistantState === "thinking";
    li.className = `person ${p.kind === "agent" ? "agent" : `c${p.color}`}${speaking.has(p.id) ? " speaking" : ""}` +
      (thinking ? " thinking" : "");
    const role = p.kind === "agent" ? AGENT_ROLES[assistantState] : p.id === me ? "You" : speaking.has(p.id) ? "Speaking" : "";
    li.innerHTML = `<span class="avatar" aria-hidden="true"></span><span class="person-name"></span>`;
    const avatar = li.querySelector(".avatar");
    if (p.kind === "agent") avatar.innerHTML = `<svg class="icon"><use href="#i-spark"/></svg>`;
    else avatar.textContent = initials(p.name);
    const label = li.querySelector(".person-name");
    label.textContent = p.name;
    if (role) label.insertAdjacentHTML("beforeend", `<span class="person-meta">${role}</span>`);
    if (p.muted) {
      li.insertAdjacentHTML("beforeend", `<svg class="muted-icon" role="img" aria-label="muted"><use href="#i-mic-off"/></svg>`);
    }
    return li;
  }));
  const humans = [...people.values()].filter((p) => p.kind === "human").length;
  ui.peopleCount.textContent = `· ${humans}`;
  ui.peopleCount.setAttribute("aria-label", `${humans} ${humans === 1 ? "person" : "people"} and the assistant`);
}

const STATES = {
  new: ["connecting", "Connecting…"], connecting: ["connecting", "Connecting…"],
  connected: ["connected", "Connected"], disconnected: ["connecting", "Reconnecting…"],
  failed: ["failed", "Connection lost"], closed: ["failed", "Disconnected"],
};

function setConnectionState(state) {
  const [style, text] = STATES[state] || STATES.connecting;
  ui.connection.className = `pill pill-${style}`;
  ui.connectionText.textContent = text;
  if (state === "failed") setNotice("The connection to the room was lost. Leave and join again to reconnect.");
}

function setNotice(message) {
  ui.noticeText.textContent = message;
  ui.notice.hidden = !message;
}

// ---------- controls ----------

function setMuted(value, { tell = true } = {}) {
  muted = value;
  if (tell) connection?.setMuted(muted);
  ui.mute.setAttribute("aria-pressed", String(muted));
  ui.muteLabel.textContent = muted ? "Unmute" : "Mute";
  ui.mute.title = muted ? "Unmute (M)" : "Mute (M)";
  ui.muteIcon.setAttribute("href", muted ? "#i-mic-off" : "#i-mic");
}

function startMeter(stream) {
  const context = new AudioContext();
  const analyser = context.createAnalyser();
  analyser.fftSize = 512;
  context.createMediaStreamSource(stream).connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  const draw = () => {
    if (context.state === "closed") return;
    analyser.getFloatTimeDomainData(samples);
    const rms = Math.sqrt(samples.reduce((sum, x) => sum + x * x, 0) / samples.length);
    ui.micLevel.style.width = muted ? "0%" : `${Math.min(100, rms * 400)}%`;
    requestAnimationFrame(draw);
  };
  draw();
  meter = context;
}

ui.mute.addEventListener("click", () => setMuted(!muted));
ui.leave.addEventListener("click", () => leaveRoom());
ui.copyLink.addEventListener("click", async () => {
  const label = ui.copyLink.querySelector("span");
  try {
    await navigator.clipboard.writeText(location.href);
    label.textContent = "Link copied";
  } catch {
    label.textContent = location.href;
  }
  setTimeout(() => { label.textContent = "Copy invite link"; }, 2000);
});
document.addEventListener("keydown", (e) => {
  const typing = e.target instanceof HTMLInputElement || e.target instanceof HTMLTextAreaElement;
  if (!ui.roomView.hidden && !typing && !e.ctrlKey && !e.metaKey && !e.altKey && e.key.toLowerCase() === "m") {
    e.preventDefault();
    setMuted(!muted);
  }
});
window.addEventListener("pagehide", () => connection?.close());

// ---------- start ----------

ui.name.value = localStorage.getItem("parley.name") || "";
ui.room.value = roomSlug(new URLSearchParams(location.search).get("room") || "");
startPage(() => (ui.name.value ? ui.room : ui.name).focus());
