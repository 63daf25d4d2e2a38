// Memories (list, semantic search, add, edit in place, delete) and voice enrollment
// (about 10 s recorded with MediaRecorder, posted to /api/speakers).

import { api, ApiError } from "./auth.js";

const $ = (id) => document.getElementById(id);
const RECORD_MS = 10_000;
const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" });

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function button(label, className, onClick, ariaLabel) {
  const node = element("button", `btn btn-small ${className}`, label);
  node.type = "button";
  if (ariaLabel) node.setAttribute("aria-label", ariaLabel);
  node.addEventListener("click", onClick);
  return node;
}

function showError(err) {
  $("memory-error").textContent = err ? err.message : "";
  $("memory-error").hidden = !err;
}

// ---------- memories ----------

export async function loadMemories() {
  showError(null);
  renderMemories(await api("/api/memories?limit=200"));
}

function renderMemories(memories, scores = null) {
  $("memories-empty").hidden = memories.length > 0;
  $("memories-empty").textContent = scores ? "Nothing similar found." : "No memories yet.";
  $("memory-list").replaceChildren(...memories.map((m, i) => memoryItem(m, scores?.[i])));
}

function memoryItem(memory, score) {
  const li = element("li", "item memory");
  const text = element("p", "item-title", memory.text);
  const meta = [dateFormat.format(new Date(memory.created_at))];
  if (memory.speaker) meta.push(`said by ${memory.speaker}`);
  if (memory.source_session_id) meta.push("from a session");
  if (score !== undefined) meta.push(`match ${Math.round(score * 100)}%`);
  const actions = element("div", "item-actions");
  actions.append(
    button("Edit", "btn-ghost", () => editMemory(li, memory), `Edit memory: ${memory.text}`),
    button("Delete", "btn-ghost btn-danger-text", () => deleteMemory(memory), `Delete memory: ${memory.text}`),
  );
  li.append(text, element("p", "item-meta", meta.join(" · ")), actions);
  return li;
}

function editMemory(li, memory) {
  const form = element("form", "row-form");
  const input = element("input");
  input.value = memory.text;
  input.maxLength = 2000;
  input.setAttribute("aria-label", "Memory text");
  const cancel = button("Cancel", "btn-ghost", () => li.replaceWith(memoryItem(memory)));
  const save = element("button", "btn btn-small btn-primary", "Save");
  save.type = "submit";
  form.append(input, save, cancel);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const updated = await api(`/api/memories/${memory.id}`, { method: "PATCH", json: { text: input.value.trim() } });
      li.replaceWith(memoryItem(updated));
    } catch (err) {
      showError(err);
    }
  });
  input.addEventListener("keydown", (e) => { if (e.key === "Escape") cancel.click(); });
  li.replaceChildren(form);
  input.focus();
}

async function deleteMemory(memory) {
  if (!confirm(`Forget “${memory.text}”?`)) return;
  try {
    await api(`/api/memories/${memory.id}`, { method: "DELETE" });
    await loadMemories();
    $("memory-text").focus();
  } catch (err) {
    showError(err);
  }
}

$("memory-add").addEventListener("submit", async (e) => {
  e.preventDefault();
  const text = $("memory-text").value.trim();
  if (!text) return;
  try {
    await api("/api/memories", { method: "POST", json: { text } });
    $("memory-text").value = "";
    $("memory-query").value = "";
    await loadMemories();
  } catch (err) {
    showError(err);
  }
});

$("memory-search").addEventListener("submit", async (e) => {
  e.preventDefault();
  const q = $("memory-query").value.trim();
  try {
    showError(null);
    if (!q) return loadMemories();
    const hits = await api(`/api/memories/search?limit=20&q=${encodeURIComponent(q)}`);
    renderMemories(hits.map((h) => h.memory), hits.map((h) => h.score));
  } catch (err) {
    showError(err);
  }
});

// ---------- voice enrollment ----------

function setVoiceStatus(message, progress = 0) {
  $("voice-status").textContent = message;
  $("voice-progress").style.width = `${progress}%`;
}

export async function loadVoices() {
  const speakers = await api("/api/speakers");
  const name = $("voice-name");
  if (!name.value) name.value = $("account-name").textContent;
  $("speaker-list").replaceChildren(...speakers.map((s) => {
    const li = element("li", "item");
    li.append(element("p", "item-title", s.name), element("p", "item-meta", `enrolled ${dateFormat.format(new Date(s.created_at))}`));
    const actions = element("div", "item-actions");
    actions.append(button("Remove", "btn-ghost btn-danger-text", async () => {
      await api(`/api/speakers/${s.id}`, { method: "DELETE" }).catch((err) => setVoiceStatus(err.message));
      await loadVoices();
    }, `Remove the voice of ${s.name}`));
    li.append(actions);
    return li;
  }));
}

async function record(ms) {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: { echoCancellation: true, noiseSuppression: false } });
  const recorder = new MediaRecorder(stream);
  const chunks = [];
  recorder.addEventListener("dataavailable", (e) => chunks.push(e.data));
  const stopped = new Promise((resolve) => recorder.addEventListener("stop", resolve));
  recorder.start();
  const started = performance.now();
  const tick = setInterval(() => {
    const done = performance.now() - started;
    setVoiceStatus(`Recording… ${Math.ceil((ms - done) / 1000)} s left. Keep talking.`, Math.min(100, (done / ms) * 100));
  }, 200);
  await new Promise((resolve) => setTimeout(resolve, ms));
  recorder.stop();
  await stopped;
  clearInterval(tick);
  for (const track of stream.getTracks()) track.stop();
  return new Blob(chunks, { type: recorder.mimeType || "audio/webm" });
}

$("voice-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const name = $("voice-name").value.trim();
  if (!name) return $("voice-name").focus();
  const go = $("voice-record");
  go.disabled = true;
  try {
    const audio = await record(RECORD_MS);
    setVoiceStatus("Analysing your voice…", 100);
    const form = new FormData();
    form.append("name", name);
    form.append("file", audio, "voice.webm");
    await api("/api/speakers", { method: "POST", body: form });
    setVoiceStatus(`Saved. Captions now label this voice “${name}”.`);
    await loadVoices();
  } catch (err) {
    const message = err instanceof ApiError ? err.message
      : err.name === "NotAllowedError" ? "Microphone access was blocked: allow it for this site and try again."
        : `Recording failed: ${err.message}`;
    setVoiceStatus(message);
  } finally {
    go.disabled = false;
  }
});
