"use strict";
// Forgeline web UI: form submission, phase controls, answers, documents and the live log.

function say(text, isError) {
  const status = document.getElementById("status");
  if (!status) return;
  status.textContent = text;
  status.className = isError ? "status error" : "status";
}

async function api(method, url, body) {
  const options = { method, headers: {} };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(url, options);
  if (response.status === 401) {
    // The session ended (token mode): sign in again, then come back here.
    window.location.href = "/signin?next=" + encodeURIComponent(location.pathname);
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const detail = typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail);
    throw new Error(detail || response.statusText);
  }
  return data;
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// ---- New project form -------------------------------------------------------
function setupNewProject() {
  const form = document.getElementById("new-project");
  if (!form) return;
  document.getElementById("add-repo").addEventListener("click", () => {
    const rows = form.querySelectorAll(".repo-row");
    const copy = rows[0].cloneNode(true);
    copy.querySelectorAll("input").forEach((input) => { input.value = ""; input.required = false; });
    rows[rows.length - 1].after(copy);
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const repositories = [];
    form.querySelectorAll(".repo-row").forEach((row) => {
      const url = row.querySelector("[name=repo_url]").value.trim();
      const branch = row.querySelector("[name=repo_branch]").value.trim();
      if (url) repositories.push(branch ? { url, branch } : { url });
    });
    const phases = [...form.querySelectorAll("[name=phases]:checked")].map((box) => box.value);
    const body = {
      feature_request: form.feature_request.value,
      repositories,
      phases,
      model: form.model.value.trim() || null,
    };
    say("Creating the project (cloning repositories)…");
    try {
      const project = await api("POST", "/api/projects", body);
      window.location.href = "/projects/" + encodeURIComponent(project.id);
    } catch (error) {
      say("Could not create the project: " + error.message, true);
    }
  });
}

// ---- Project page -----------------------------------------------------------
function projectId() {
  const root = document.getElementById("project");
  return root ? root.dataset.project : null;
}

async function refresh() {
  const id = projectId();
  const response = await fetch("/projects/" + encodeURIComponent(id));
  if (!response.ok) return;
  const page = new DOMParser().parseFromString(await response.text(), "text/html");
  document.querySelectorAll(".refresh").forEach((section) => {
    const active = document.activeElement;
    const typing = active && active.matches("input, textarea, select");
    if (typing && section.contains(active)) return;
    if (section.querySelector(".editor:not([hidden])")) return;
    const fresh = page.getElementById(section.id);
    if (!fresh) return;
    const focusedAction = active && section.contains(active) ? active.dataset.action : null;
    const focusedPhase = focusedAction ? active.dataset.phase : null;
    section.innerHTML = fresh.innerHTML;
    if (focusedAction) {
      const selector = `[data-action="${focusedAction}"]` + (focusedPhase ? `[data-phase="${focusedPhase}"]` : "");
      const again = section.querySelector(selector);
      if (again) again.focus();
    }
  });
}

let refreshTimer = null;
function scheduleRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => refresh().catch(() => {}), 300);
}

async function onControl(button) {
  const id = projectId();
  const action = button.dataset.action;
  try {
    if (action === "start") {
      const task = await api("POST", `/api/projects/${encodeURIComponent(id)}/phases/${button.dataset.phase}/start`);
      say(`Started ${button.dataset.phase} (task ${task.id}).`);
    } else {
      const task = await api("POST", `/agents/${encodeURIComponent(button.dataset.task)}/${action}`);
      say(`Task ${task.id} is ${task.status}.`);
    }
  } catch (error) {
    say(error.message, true);
  }
  reconnectLog();
  scheduleRefresh();
}

async function onAnswers(form) {
  const sets = [...form.querySelectorAll("fieldset.question")];
  try {
    for (const set of sets) {
      const qid = set.dataset.question;
      const selected = [...set.querySelectorAll(`[name="q-${CSS.escape(qid)}"]:checked`)].map((i) => i.value);
      const other = set.querySelector(`[name="other-${CSS.escape(qid)}"]`).value.trim();
      await api("POST", `/api/questions/${encodeURIComponent(qid)}/answer`, { selected, other: other || null });
    }
    say("Answers sent.");
    form.remove();
  } catch (error) {
    say("Could not send the answers: " + error.message, true);
  }
  scheduleRefresh();
}

async function onDocument(button) {
  const card = button.closest(".document");
  const editor = card.querySelector(".editor");
  const save = card.querySelector("[data-action=save]");
  const edit = card.querySelector("[data-action=edit]");
  if (button.dataset.action === "edit") {
    editor.hidden = false; save.hidden = false; edit.hidden = true;
    editor.querySelector("textarea").focus();
    return;
  }
  const kind = card.dataset.kind;
  const content = editor.querySelector("textarea").value;
  try {
    const doc = await api("PUT", `/api/projects/${encodeURIComponent(projectId())}/documents/${kind}`, { content });
    card.querySelector(".rendered").innerHTML = doc.html;
    editor.hidden = true; save.hidden = true; edit.hidden = false;
    edit.focus();
    say(`${kind}.md saved.`);
  } catch (error) {
    say(`Could not save ${kind}.md: ` + error.message, true);
  }
}

// ---- Live log ---------------------------------------------------------------
const REFRESH_ON = new Set([
  "phase_started", "task_started", "task_completed", "task_failed", "task_paused",
  "task_resumed", "task_cancelled", "phase_completed", "question_asked",
  "question_answered", "finding", "commit", "document_updated", "usage", "gate",
]);

function short(value) {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return text.length > 120 ? text.slice(0, 117) + "…" : text;
}

function logLine(kind, text) {
  const line = el("div", "entry " + kind, text);
  return line;
}

function renderEvent(log, event) {
  const data = event.data || {};
  const agent = data.agent ? `[${data.agent}] ` : "";
  let node = null;
  switch (event.type) {
    case "model_text":
      node = logLine("text", agent + data.text);
      break;
    case "tool_call": {
      node = el("details", "entry tool");
      node.dataset.call = data.id || "";
      const input = data.input || {};
      const first = Object.values(input)[0];
      node.append(el("summary", "", `${agent}${data.name}(${first === undefined ? "" : short(first)})`));
      node.append(el("pre", "result muted", "running…"));
      break;
    }
    case "tool_result": {
      const target = [...log.querySelectorAll("details.tool")].reverse()
        .find((d) => d.dataset.call === (data.id || "") && !d.dataset.done);
      if (target) {
        const pre = target.querySelector("pre");
        pre.textContent = data.content || "";
        pre.className = data.is_error ? "result error" : "result";
        target.dataset.done = "1";
        if (data.is_error) target.classList.add("failed");
        return;
      }
      node = logLine("tool", `${agent}${data.name} → ${short(data.content || "")}`);
      break;
    }
    case "todos":
      node = el("ul", "entry todos");
      (data.todos || []).forEach((t) => node.append(el("li", "todo-" + t.status, `${t.status === "completed" ? "☑" : t.status === "in_progress" ? "▶" : "☐"} ${t.content}`)));
      break;
    case "finding":
      node = logLine("finding sev-" + data.severity, `${agent}${data.severity}: ${data.path ? data.path + (data.line ? ":" + data.line : "") + " " : ""}${data.message}`);
      break;
    case "commit":
      node = logLine("commit", `commit ${String(data.sha || "").slice(0, 10)} in ${data.repo}: ${data.message}`);
      break;
    case "question_asked":
      node = logLine("question", `${(data.questions || []).length} question(s) asked: answer them above`);
      break;
    case "usage":
      return;
    case "agent_override":
      node = logLine(data.accepted ? "event" : "event error", `repository agent file ${data.repo}/${data.path}: ${data.reason}`);
      break;
    default:
      node = logLine("event", `${event.type} ${short(data.phase || data.error || data.message || data.document || "")}`);
  }
  log.append(node);
  log.scrollTop = log.scrollHeight;
}

let logSource = null;
let lastSeq = 0;
const seen = new Set();

// The server ends the stream with `idle` once the project has finished; reopen it
// (after the last event seen) when the user starts or resumes work.
function reconnectLog() {
  if (logSource === null) setupLog();
}

function setupLog() {
  const log = document.getElementById("log");
  if (!log || !window.EventSource) return;
  const url = `/api/projects/${encodeURIComponent(projectId())}/events?after=${lastSeq}`;
  const source = new EventSource(url);
  logSource = source;
  source.addEventListener("idle", () => {
    source.close();
    logSource = null;
  });
  // Events up to the page's last sequence number are history: logged, not announced.
  const historyEnd = Number(document.getElementById("project").dataset.lastSeq || 0);
  const handle = (message) => {
    const event = JSON.parse(message.data);
    if (seen.has(event.seq)) return;
    seen.add(event.seq);
    lastSeq = Math.max(lastSeq, event.seq);
    renderEvent(log, event);
    if (event.seq <= historyEnd) return;
    if (event.type === "task_failed") say(`${event.data.agent || "task"} failed: ${event.data.error || ""}`, true);
    if (event.type === "question_asked") say("The agent is asking questions.");
    if (event.type === "phase_completed") say(`${event.data.phase} completed.`);
    if (REFRESH_ON.has(event.type)) scheduleRefresh();
  };
  source.onmessage = handle;
  ["phase_started", "task_started", "model_text", "tool_call", "tool_result", "question_asked",
    "question_answered", "finding", "commit", "task_paused", "task_resumed", "task_completed",
    "task_failed", "task_cancelled", "usage", "phase_completed", "todos", "warning", "gate",
    "push", "document_updated", "agent_override"].forEach((type) => source.addEventListener(type, handle));
}

function setupProject() {
  if (!projectId()) return;
  document.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action]");
    if (!button) return;
    if (button.closest(".document")) onDocument(button);
    else onControl(button);
  });
  document.addEventListener("submit", (event) => {
    if (event.target.id !== "answers") return;
    event.preventDefault();
    onAnswers(event.target);
  });
  setupLog();
}

document.addEventListener("DOMContentLoaded", () => {
  setupNewProject();
  setupProject();
});
