"use strict";
// The live log: events from Server-Sent Events, patched into the page in place.
// Grouped by the task tree (overwatchers under their checkpoint or gate round, from data), one line per
// tool call with its outcome, setup output folded, questions and answers kept, the gate spelled out.

(function () {
  const AGENT_NAMES = { research: "Research", planning: "Planning", implementation: "Implementation",
    documentation: "Documentation", review: "Review", security: "Security", test: "Test", pipeline: "Run" };

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function short(value, limit) {
    const text = typeof value === "string" ? value : JSON.stringify(value);
    const max = limit || 120;
    return text.length > max ? text.slice(0, max - 1) + "…" : text;
  }

  function title(agent) {
    return AGENT_NAMES[agent] || agent || "Forgeline";
  }

  function group(parent, key, label, className) {
    let node = parent.querySelector(`:scope > .group[data-key="${CSS.escape(key)}"]`);
    if (node) return node;
    node = el("details", "group " + (className || ""));
    node.open = true;
    node.dataset.key = key;
    const summary = el("summary");
    summary.append(el("span", "group-title", label), el("span", "group-state"));
    node.append(summary, el("div", "entries"));
    parent.append(node);
    return node;
  }

  function Log(root, tasks) {
    this.root = root;
    this.tasks = {};
    this.lastCommit = {};
    (tasks || []).forEach((t) => this.learn(t.id, t));
  }

  const OVERWATCH = { checkpoint: true, gate: true };

  // Where a task's events go, from its place in the task tree (kind, parent_id, round) as the
  // page lists it and each `task_started` event repeats it; never from the task's id.
  Log.prototype.placeOf = function (taskId, agent) {
    const task = this.tasks[taskId || ""];
    const who = (task && task.agent) || agent;
    if (task && task.parent_id && OVERWATCH[task.kind]) {
      const run = `${task.parent_id}:${task.kind}:${task.round ?? 0}`;
      return { parent: task.parent_id, run: run, kind: task.kind, round: task.round, agent: who };
    }
    if (task && task.parent_id && task.kind === "documentation") {
      return { parent: task.parent_id, run: null, kind: "docs", agent: "documentation" };
    }
    return { parent: null, run: null, kind: "task", agent: who || "project" };
  };

  // Remember a task's place (from the page's task list or a `task_started` event).
  Log.prototype.learn = function (taskId, data) {
    if (!taskId || !data || !data.kind) return;
    this.tasks[taskId] = { kind: data.kind, parent_id: data.parent_id || null,
      round: data.round ?? null, agent: data.agent || (this.tasks[taskId] || {}).agent };
  };

  Log.prototype.topGroup = function (taskId, agent) {
    return group(this.root, taskId || "project", taskId ? title(agent) : "Project", "task");
  };

  // The `.entries` box an event of `taskId` goes into (groups made on first use).
  Log.prototype.entriesFor = function (taskId, agent) {
    const place = this.placeOf(taskId, agent);
    if (place.kind === "task") return this.topGroup(taskId, place.agent).querySelector(".entries");
    const parent = this.tasks[place.parent];
    const top = this.topGroup(place.parent, (parent && parent.agent) || "implementation").querySelector(".entries");
    if (place.kind === "docs") return group(top, taskId, "Documentation", "task").querySelector(".entries");
    let run = top.querySelector(`:scope > .group[data-key="${CSS.escape(place.run)}"]`);
    if (!run) {
      const n = place.round ?? "?";
      const sha = this.lastCommit[place.parent];
      const label = place.kind === "checkpoint"
        ? `Checkpoint ${n}${sha ? " (commit " + sha.slice(0, 10) + ")" : ""}: review, security, test`
        : `Final gate, run ${n}: review, security, test`;
      run = group(top, place.run, label, place.kind);
    }
    return group(run.querySelector(".entries"), taskId, title(place.agent), "overwatcher").querySelector(".entries");
  };

  Log.prototype.line = function (box, className, text) {
    const node = el("div", "entry " + className, text);
    box.append(node);
    return node;
  };

  Log.prototype.setState = function (taskId, agent, text, className) {
    const box = this.entriesFor(taskId, agent);
    const state = box.parentElement.querySelector(":scope > summary .group-state");
    state.textContent = " · " + text;
    state.className = "group-state " + (className || "");
  };

  Log.prototype.toolCall = function (box, data) {
    const node = el("details", "entry tool");
    node.dataset.call = data.id || "";
    node.dataset.name = data.name || "";
    const input = data.input || {};
    if (data.name === "Bash") node.dataset.command = input.command || "";
    const first = Object.values(input)[0];
    const summary = el("summary");
    summary.append(el("span", "tool-name", data.name), el("span", "tool-arg", " " + (first === undefined ? "" : short(first))), el("span", "outcome running", " running…"));
    node.append(summary, el("pre", "result", ""));
    box.append(node);
  };

  function outcome(node, text, failed) {
    const span = node.querySelector(".outcome");
    span.textContent = " " + text;
    span.className = "outcome " + (failed ? "failed" : "ok");
    node.classList.toggle("failed", failed);
  }

  Log.prototype.toolResult = function (box, data) {
    const target = [...box.querySelectorAll(":scope > details.tool")].reverse()
      .find((d) => d.dataset.call === (data.id || "") && !d.dataset.done);
    if (!target) {
      this.line(box, data.is_error ? "tool failed" : "tool", `${data.name} → ${short(data.content || "")}`);
      return;
    }
    target.dataset.done = "1";
    target.querySelector("pre").textContent = data.content || "";
    const refused = data.is_error && /refus|denied|not allowed|blocked/i.test(data.content || "");
    outcome(target, data.is_error ? (refused ? "✗ refused" : "✗ failed") : "✓", Boolean(data.is_error));
  };

  Log.prototype.command = function (box, data) {
    const target = [...box.querySelectorAll(":scope > details.tool")].reverse()
      .find((d) => d.dataset.command === data.command && !d.dataset.exit);
    const failed = data.exit_code !== 0 || Boolean(data.failed);
    const text = data.timed_out ? "✗ timed out" : failed ? `✗ exit ${data.exit_code}${data.exit_code === 0 ? " (output reports failures)" : ""}` : "✓ exit 0";
    if (!target) {
      this.line(box, "command" + (failed ? " failed" : ""), `$ ${short(data.command)} ${text}`);
      return;
    }
    target.dataset.exit = String(data.exit_code);
    outcome(target, text, failed);
  };

  Log.prototype.text = function (box, data) {
    const last = box.lastElementChild;
    if (last && last.classList.contains("text")) last.textContent += data.text || "";
    else this.line(box, "text", data.text || "");
  };

  Log.prototype.setup = function (box, event) {
    const data = event.data || {};
    const key = data.repo || "setup";
    let node = [...box.querySelectorAll(":scope > details.setup")].find((d) => d.dataset.repo === key);
    if (!node) {
      node = el("details", "entry setup");
      node.dataset.repo = key;
      const summary = el("summary");
      summary.append(el("span", "", `Setup ${data.repo || ""}: ${data.command || ""}`), el("span", "outcome running", " running…"));
      node.append(summary, el("pre", "result", ""));
      box.append(node);
    }
    const pre = node.querySelector("pre");
    const output = data.text || (pre.textContent ? "" : data.tail || "");
    if (output) pre.textContent += output + (output.endsWith("\n") ? "" : "\n");
    if (data.exit_code !== undefined && data.exit_code !== null) {
      const secs = data.seconds !== undefined ? `, ${Number(data.seconds).toFixed(1)} s` : "";
      const failed = data.exit_code !== 0 || event.type === "setup_failed";
      outcome(node, failed ? `✗ exit ${data.exit_code}${secs}` : `✓ exit 0${secs}${data.reused ? ", reused" : ""}`, failed);
    }
  };

  function gateText(data) {
    const verdicts = Object.entries(data.verdicts || {}).map(([agent, v]) => `${agent}: ${v}`).join(", ");
    const blockers = (data.blockers || []).length;
    const tests = (data.test_commands || []).map((c) => `${c.command} → exit ${c.exit_code}`).join("; ");
    const head = data.passed ? "Gate passed" : `Gate failed: ${blockers} blocker${blockers === 1 ? "" : "s"}`;
    return `${head} (round ${data.round ?? data.rounds ?? 0}). Verdicts: ${verdicts || "none"}. Tests: ${tests || "not run"}.`;
  }

  function answerText(data) {
    return (data.answers || []).map((a) => `Answered “${a.question}”: ${a.answer}`).join("\n");
  }

  function questionText(data) {
    return (data.questions || []).map((q) => `Asked: ${q.header ? q.header + ": " : ""}${q.question}`).join("\n");
  }

  const STATE = { task_completed: ["completed", "ok"], task_failed: ["failed", "failed"], task_paused: ["paused", "warn"],
    task_resumed: ["running", ""], task_cancelled: ["cancelled", "failed"], task_started: ["running", ""] };

  Log.prototype.render = function (event) {
    const data = event.data || {};
    const type = event.type;
    if (type === "usage") return;
    if (type === "task_started") this.learn(event.task_id, data);
    const box = this.entriesFor(event.task_id, data.agent);
    if (STATE[type]) this.setState(event.task_id, data.agent, STATE[type][0], STATE[type][1]);
    if (type.startsWith("setup_")) return this.setup(box, event);
    switch (type) {
      case "model_text": return this.text(box, data);
      case "tool_call": return this.toolCall(box, data);
      case "tool_result": return this.toolResult(box, data);
      case "command": return this.command(box, data);
      case "todos": {
        const old = box.querySelector(":scope > .todos");
        const list = el("ul", "entry todos");
        (data.todos || []).forEach((t) => list.append(el("li", "todo-" + t.status, `${t.status === "completed" ? "☑" : t.status === "in_progress" ? "▶" : "☐"} ${t.content}`)));
        if (old) old.replaceWith(list); else box.append(list);
        return;
      }
      case "finding": return this.line(box, "finding" + (data.severity === "blocker" ? " failed" : ""), `${data.severity}: ${data.path ? data.path + (data.line ? ":" + data.line : "") + " " : ""}${data.message}`);
      case "commit":
        if (event.task_id) this.lastCommit[event.task_id] = data.sha || "";
        return this.line(box, "commit", `Commit ${String(data.sha || "").slice(0, 10)} in ${data.repo}: ${String(data.message || "").split("\n")[0]}`);
      case "question_asked": return this.line(box, "question", questionText(data));
      case "question_answered": return this.line(box, "answer", answerText(data));
      case "gate": return this.line(box, "gate " + (data.passed ? "passed" : "failed"), gateText(data));
      case "push": return this.line(box, "push" + (data.ok ? "" : " failed"), `Push ${data.repo || ""}: ${data.ok ? (data.skipped ? "skipped" : "pushed") : "failed"}${data.detail ? " (" + data.detail + ")" : ""}`);
      case "task_failed": return this.line(box, "failed", `${title(data.agent)} failed: ${data.error || ""}`);
      case "task_started": case "task_completed": return; // shown as the group's state
      case "phase_started": return this.line(box, "event", `${title(data.phase)} phase started`);
      case "phase_completed": return this.line(box, "event ok", `${title(data.phase)} completed`);
      case "warning": return this.line(box, "warning", `Warning: ${data.message || short(data)}`);
      case "agent_override": return this.line(box, data.accepted ? "event" : "event failed", `Repository agent file ${data.repo}/${data.path}: ${data.reason}`);
      case "pull_request": return this.line(box, "push" + (data.status === "failed" ? " failed" : ""), `Pull request ${data.repo || ""}: ${data.status}${data.url ? " " + data.url : ""}${data.detail ? " (" + data.detail + ")" : ""}`);
      case "context_compacted": return this.line(box, "event", `Context compacted: ${data.before_tokens} → ${data.after_tokens} tokens`);
      case "budget_exceeded": return this.line(box, "failed", `Budget exceeded: ${data.message || short(data)}`);
      case "task_paused": case "task_resumed": case "task_cancelled":
        return this.line(box, "event", `${title(data.agent)} ${STATE[type][0]}`);
      default: return this.line(box, "event", `${type.replace(/_/g, " ")}: ${short(data.message || data.document || data.phase || data)}`);
    }
  };

  // ---- the stream ---------------------------------------------------------------
  const REFRESH_ON = new Set(["phase_started", "task_started", "task_completed", "task_failed", "task_paused",
    "task_resumed", "task_cancelled", "phase_completed", "question_asked", "question_answered", "finding",
    "commit", "document_updated", "usage", "gate", "push", "pull_request", "command"]);
  const TYPES = ["phase_started", "task_started", "model_text", "tool_call", "tool_result", "question_asked",
    "question_answered", "finding", "commit", "task_paused", "task_resumed", "task_completed", "task_failed",
    "task_cancelled", "usage", "phase_completed", "todos", "warning", "gate", "push", "command", "pull_request",
    "document_updated", "context_compacted", "budget_exceeded", "agent_override",
    "setup_started", "setup_output", "setup_completed", "setup_failed"];

  let source = null;
  let lastSeq = 0;
  const seen = new Set();
  let log = null;

  function handle(message) {
    const event = JSON.parse(message.data);
    if (seen.has(event.seq)) return;
    seen.add(event.seq);
    lastSeq = Math.max(lastSeq, event.seq);
    const root = log.root;
    const stick = root.scrollTop + root.clientHeight >= root.scrollHeight - 8;
    log.render(event);
    if (stick) root.scrollTop = root.scrollHeight;
    const historyEnd = Number(document.getElementById("project").dataset.lastSeq || 0);
    if (event.seq <= historyEnd) return;
    const status = document.getElementById("status");
    if (status && event.type === "question_asked") status.textContent = "The agent is asking questions.";
    if (status && event.type === "phase_completed") status.textContent = `${event.data.phase} completed.`;
    if (REFRESH_ON.has(event.type) && window.forgelineRefresh) window.forgelineRefresh();
  }

  function connect() {
    const project = document.getElementById("project");
    const url = `/api/projects/${encodeURIComponent(project.dataset.project)}/events?after=${lastSeq}`;
    source = new EventSource(url);
    // The server ends the stream with `idle` once the project has finished; reopen it
    // (after the last event seen) when the user starts or resumes work.
    source.addEventListener("idle", () => { source.close(); source = null; });
    source.onmessage = handle;
    TYPES.forEach((type) => source.addEventListener(type, handle));
  }

  window.forgelineLog = { reconnect() { if (log && source === null) connect(); } };

  document.addEventListener("DOMContentLoaded", () => {
    const root = document.getElementById("log");
    if (!root || !window.EventSource) return;
    const listed = document.getElementById("task-tree");
    log = new Log(root, listed ? JSON.parse(listed.textContent || "[]") : []);
    connect();
  });
})();
