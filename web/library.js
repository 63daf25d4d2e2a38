// The signed-in shell around the room: sign-in (and replacing a one-time password), the
// section tabs, session history with transcripts and exports. Memories and voice: memories.js.

import { api, ApiError, changePassword, refresh, session, signIn, signOut } from "./auth.js";
import { loadMemories, loadVoices } from "./memories.js";

const $ = (id) => document.getElementById(id);
const VIEWS = ["join-view", "sessions-view", "memories-view", "voice-view"];
const LOADERS = { "sessions-view": loadSessions, "memories-view": loadMemories, "voice-view": loadVoices };
let onJoinShown = () => {};
let oneTimePassword = ""; // kept only until it is replaced: changing it needs the current one

export async function startPage(focusJoin) {
  onJoinShown = focusJoin;
  try {
    await refresh(); // the HttpOnly cookie of an earlier sign-in, if any
  } catch {
    return showSignIn();
  }
  afterSignIn();
}

// Show one section of the signed-in page (null: none, while in a room).
export function showHome(view) {
  $("signin-view").hidden = true;
  $("app-header").hidden = view === null;
  for (const id of VIEWS) $(id).hidden = id !== view;
  for (const tab of document.querySelectorAll(".tab")) {
    if (tab.dataset.view === view) tab.setAttribute("aria-current", "page");
    else tab.removeAttribute("aria-current");
  }
  if (view === "join-view") onJoinShown();
  else if (view) LOADERS[view]().catch(handleError);
}

export function handleError(err) {
  if (err instanceof ApiError && err.status === 401) return showSignIn("Your sign-in expired. Sign in again.");
  console.error(err);
}

function showSignIn(message = "") {
  for (const id of [...VIEWS, "app-header", "room-view"]) $(id).hidden = true;
  $("signin-view").hidden = false;
  $("signin-form").hidden = false;
  $("password-form").hidden = true;
  setError("signin-error", message);
  $("email").focus();
}

function setError(id, message) {
  $(id).textContent = message && message[0].toUpperCase() + message.slice(1);
  $(id).hidden = !message;
}

function afterSignIn() {
  if (session.user.must_change_password) {
    $("signin-view").hidden = false;
    $("signin-form").hidden = true;
    $("password-form").hidden = false;
    $("new-password").focus();
    return;
  }
  $("account-name").textContent = session.user.display_name || session.user.email;
  if (!$("name").value) $("name").value = session.user.display_name || "";
  showHome("join-view");
}

async function busy(button, work) {
  button.disabled = true;
  try {
    await work();
  } finally {
    button.disabled = false;
  }
}

$("signin-form").addEventListener("submit", (e) => {
  e.preventDefault();
  busy($("signin-button"), async () => {
    try {
      const password = $("password").value;
      await signIn($("email").value.trim(), password);
      oneTimePassword = session.user.must_change_password ? password : "";
      $("password").value = "";
      setError("signin-error", "");
      afterSignIn();
    } catch (err) {
      setError("signin-error", err.message);
      $("password").focus();
    }
  });
});

$("password-form").addEventListener("submit", (e) => {
  e.preventDefault();
  busy($("password-button"), async () => {
    try {
      await changePassword(oneTimePassword, $("new-password").value);
      oneTimePassword = "";
      $("new-password").value = "";
      afterSignIn();
    } catch (err) {
      setError("password-error", err.message);
    }
  });
});
$("signout").addEventListener("click", async () => {
  await signOut();
  oneTimePassword = "";
  showSignIn();
});

for (const tab of document.querySelectorAll(".tab")) {
  tab.addEventListener("click", () => showHome(tab.dataset.view));
}

// ---------- sessions ----------

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function duration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  return s >= 3600 ? `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`
    : s >= 60 ? `${Math.floor(s / 60)} min` : `${s} s`;
}

function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

async function loadSessions() {
  const sessions = await api("/api/sessions?limit=100");
  $("sessions-empty").hidden = sessions.length > 0;
  $("session-list").replaceChildren(...sessions.map((s) => {
    const li = element("li");
    const button = element("button", "item item-button");
    button.type = "button";
    button.append(element("span", "item-title", s.title || `Meeting in ${s.room_name}`));
    const ended = s.ended_at ? duration((new Date(s.ended_at) - new Date(s.started_at)) / 1000) : "in progress";
    button.append(element("span", "item-meta", `${s.room_name} · ${dateFormat.format(new Date(s.started_at))} · ${ended}`));
    button.addEventListener("click", () => {
      for (const other of document.querySelectorAll("#session-list .item-button")) other.removeAttribute("aria-current");
      button.setAttribute("aria-current", "true");
      showTranscript(s.id).catch(handleError);
    });
    li.append(button);
    return li;
  }));
}

async function showTranscript(id) {
  const { session: s, segments } = await api(`/api/sessions/${encodeURIComponent(id)}/transcript`);
  const panel = $("transcript");
  const title = element("h2", "panel-title", s.title || `Meeting in ${s.room_name}`);
  title.id = "transcript-title";
  const meta = element("p", "item-meta", `${s.room_name} · ${dateFormat.format(new Date(s.started_at))}`);
  const exports = element("div", "exports");
  exports.append(element("span", "item-meta", "Export:"));
  for (const [format, label] of [["json", "JSON"], ["srt", "SRT"], ["vtt", "VTT"], ["md", "Markdown"]]) {
    const link = element("a", "btn btn-ghost btn-small", label);
    link.href = `/api/sessions/${encodeURIComponent(id)}/export?format=${format}`;
    link.addEventListener("click", (e) => { e.preventDefault(); download(link.href).catch(handleError); });
    exports.append(link);
  }
  const parts = [title, meta, exports];
  if (s.summary) parts.push(element("p", "summary", s.summary));
  const list = element("ol", "segments");
  list.setAttribute("aria-label", "Transcript");
  const colors = new Map();
  for (const seg of segments) {
    if (!colors.has(seg.speaker)) colors.set(seg.speaker, colors.size % 8);
    const li = element("li", `segment c${colors.get(seg.speaker)}`);
    const head = element("div", "segment-head");
    head.append(element("span", "speaker", seg.speaker), element("time", "item-meta", clock(seg.start)));
    if (seg.emotion && seg.emotion !== "neutral") head.append(element("span", "badge", seg.emotion));
    li.append(head, element("p", "segment-text", seg.text));
    list.append(li);
  }
  parts.push(segments.length ? list : element("p", "empty", "Nothing was said in this session."));
  panel.replaceChildren(...parts);
  title.tabIndex = -1;
  title.focus();
}

// Exports need the bearer token, so they are fetched and saved rather than followed.
async function download(url) {
  const response = await api(url, { raw: true });
  if (!response.ok) throw new ApiError(response.status, `The export failed (HTTP ${response.status}).`);
  const name = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "")?.[1] || "transcript";
  const link = element("a");
  link.href = URL.createObjectURL(await response.blob());
  link.download = name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 1000);
}
