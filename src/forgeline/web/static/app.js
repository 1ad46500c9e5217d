"use strict";
// Forgeline web UI: forms, phase controls with confirmations, answers, documents, model choice.
// Errors are shown beside the control that caused them (`.field-error` next to it).

function say(text) {
  const status = document.getElementById("status");
  if (status) status.textContent = text;
}

function showError(slot, text) {
  if (!slot) return;
  slot.textContent = text || "";
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

// ---- Confirmation dialog ------------------------------------------------------
function confirmDialog(text, yesLabel) {
  const dialog = document.getElementById("confirm");
  if (!dialog) return Promise.resolve(true);
  dialog.querySelector("#confirm-text").textContent = text;
  dialog.querySelector("#confirm-yes").textContent = yesLabel || "Confirm";
  dialog.returnValue = "";
  const opener = document.activeElement;
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      if (opener && opener.isConnected) opener.focus();
      resolve(dialog.returnValue === "confirm");
    }, { once: true });
  });
}

// ---- Projects list and the New project form ---------------------------------
function setupFilter() {
  const filter = document.getElementById("project-filter");
  if (!filter) return;
  filter.addEventListener("input", () => {
    const words = filter.value.toLowerCase().trim();
    let shown = 0;
    document.querySelectorAll("#project-list > li").forEach((li) => {
      li.hidden = words !== "" && !li.dataset.name.includes(words);
      if (!li.hidden) shown += 1;
    });
    document.getElementById("no-match").hidden = shown !== 0;
  });
}

function setupDelete() {
  document.querySelectorAll("button[data-delete]").forEach((button) => {
    button.addEventListener("click", async () => {
      const slot = button.parentElement.querySelector(".field-error");
      if (!(await confirmDialog(button.dataset.confirm, "Delete"))) return;
      try {
        await api("DELETE", "/api/projects/" + encodeURIComponent(button.dataset.delete));
        button.closest("li").remove();
        say("Project deleted.");
      } catch (error) {
        showError(slot, "Could not delete: " + error.message);
      }
    });
  });
}

function updateRemoveButtons(form) {
  const rows = form.querySelectorAll(".repo-row");
  rows.forEach((row) => { row.querySelector("[data-remove-repo]").hidden = rows.length < 2; });
}

function setupRepoRows(form) {
  document.getElementById("add-repo").addEventListener("click", () => {
    const rows = form.querySelectorAll(".repo-row");
    const copy = rows[0].cloneNode(true);
    copy.querySelectorAll("input").forEach((input) => { input.value = ""; input.required = false; });
    rows[rows.length - 1].after(copy);
    updateRemoveButtons(form);
    copy.querySelector("input").focus();
  });
  form.addEventListener("click", (event) => {
    const remove = event.target.closest("[data-remove-repo]");
    if (!remove) return;
    const row = remove.closest(".repo-row");
    const rows = [...form.querySelectorAll(".repo-row")];
    const next = rows[rows.indexOf(row) + 1] || rows[rows.indexOf(row) - 1];
    row.remove();
    form.querySelector(".repo-row [name=repo_url]").required = true;
    updateRemoveButtons(form);
    next.querySelector("input").focus();
  });
}

function newProjectBody(form) {
  const repositories = [];
  form.querySelectorAll(".repo-row").forEach((row) => {
    const url = row.querySelector("[name=repo_url]").value.trim();
    const branch = row.querySelector("[name=repo_branch]").value.trim();
    if (url) repositories.push(branch ? { url, branch } : { url });
  });
  const phases = [...form.querySelectorAll("[name=phases]:checked")].map((box) => box.value);
  const budget = form.max_cost.value.trim();
  return {
    feature_request: form.feature_request.value, repositories, phases,
    model: form.model.value || null, max_cost_usd: budget ? Number(budget) : null,
    agent_models: agentModelsOf(form, null),
  };
}

function setupNewProject() {
  const form = document.getElementById("new-project");
  if (!form) return;
  setupRepoRows(form);
  setupAgentModels(form);
  const slot = document.getElementById("create-error");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    showError(slot, "");
    clearAgentErrors(form);
    button.disabled = true;
    button.textContent = "Creating (cloning repositories)…";
    try {
      const project = await api("POST", "/api/projects", newProjectBody(form));
      window.location.href = "/projects/" + encodeURIComponent(project.id);
    } catch (error) {
      const placed = placeAgentError(form, error.message);
      showError(slot, "Could not create the project: " + (placed ? "see Model per agent" : error.message));
      button.disabled = false;
      button.textContent = "Create project";
    }
  });
}

// ---- Project page -----------------------------------------------------------
function projectId() {
  const root = document.getElementById("project");
  return root ? root.dataset.project : null;
}

function openDetails(section) {
  return new Set([...section.querySelectorAll("details[id]")].filter((d) => d.open).map((d) => d.id));
}

async function refresh() {
  const response = await fetch("/projects/" + encodeURIComponent(projectId()));
  if (!response.ok) return;
  const page = new DOMParser().parseFromString(await response.text(), "text/html");
  document.querySelectorAll(".refresh").forEach((section) => {
    const active = document.activeElement;
    const typing = active && active.matches("input, textarea, select");
    if (typing && section.contains(active)) return;
    if (section.querySelector(".editor:not([hidden])") || unsaved(section)) return;
    const fresh = page.getElementById(section.id);
    if (!fresh) return;
    const errors = [...section.querySelectorAll(".field-error[id]")].filter((p) => p.textContent);
    const focusedId = active && section.contains(active) ? active.id : null;
    const opened = openDetails(section);
    section.innerHTML = fresh.innerHTML;
    errors.forEach((p) => { const again = section.querySelector("#" + CSS.escape(p.id)); if (again) again.textContent = p.textContent; });
    opened.forEach((id) => { const d = section.querySelector("#" + CSS.escape(id)); if (d) d.open = true; });
    if (focusedId) { const again = document.getElementById(focusedId); if (again) again.focus(); }
  });
}

let refreshTimer = null;
function scheduleRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => refresh().catch(() => {}), 300);
}
window.forgelineRefresh = scheduleRefresh;

async function onControl(button) {
  const id = projectId();
  const action = button.dataset.action;
  const slot = document.getElementById("controls-error");
  showError(slot, "");
  if (button.dataset.confirm) {
    const yes = action === "cancel" ? "Cancel the task" : `Run ${button.dataset.phase} again`;
    if (!(await confirmDialog(button.dataset.confirm, yes))) return;
  }
  try {
    if (action === "start") {
      const task = await api("POST", `/api/projects/${encodeURIComponent(id)}/phases/${button.dataset.phase}/start`);
      say(`Started ${button.dataset.phase} (task ${task.id}).`);
    } else {
      const task = await api("POST", `/agents/${encodeURIComponent(button.dataset.task)}/${action}`);
      say(`Task ${task.id} is ${task.status}.`);
    }
  } catch (error) {
    showError(slot, `${button.textContent}: ${error.message}`);
  }
  if (window.forgelineLog) window.forgelineLog.reconnect();
  scheduleRefresh();
}

async function onAnswers(form) {
  const slot = document.getElementById("answers-error");
  showError(slot, "");
  const sets = [...form.querySelectorAll("fieldset.question")];
  try {
    for (const set of sets) {
      const qid = set.dataset.question;
      const selected = [...set.querySelectorAll(`[name="q-${CSS.escape(qid)}"]:checked`)].map((i) => i.value);
      const other = set.querySelector(`[name="other-${CSS.escape(qid)}"]`).value.trim();
      await api("POST", `/api/questions/${encodeURIComponent(qid)}/answer`, { selected, other: other || null });
    }
    say("Answers sent.");
  } catch (error) {
    showError(slot, "Could not send the answers: " + error.message);
    return;
  }
  scheduleRefresh();
}

async function onModel(form) {
  const slot = document.getElementById("model-error");
  showError(slot, "");
  try {
    await api("PATCH", `/api/projects/${encodeURIComponent(projectId())}`, { model: form.model.value || null });
    markSaved(form);
    say("Model saved.");
    scheduleRefresh();
  } catch (error) {
    showError(slot, "Could not change the model: " + error.message);
  }
}

async function onAgentModels(form) {
  const slot = document.getElementById("agent-models-error");
  showError(slot, "");
  clearAgentErrors(form);
  const url = `/api/projects/${encodeURIComponent(projectId())}`;
  try {
    const current = await api("GET", url);
    const body = { model: current.model, agent_models: agentModelsOf(form, current.agent_models) };
    await api("PUT", url + "/models", body);
    markSaved(form);
    say("Models per agent saved.");
    scheduleRefresh();
  } catch (error) {
    if (!placeAgentError(form, error.message)) showError(slot, "Could not save the models: " + error.message);
  }
}

async function onDocument(button) {
  const card = button.closest(".document");
  const editor = card.querySelector(".editor");
  const save = card.querySelector("[data-action=save]");
  const edit = card.querySelector("[data-action=edit]");
  const slot = card.querySelector(".field-error");
  if (button.dataset.action === "edit") {
    editor.hidden = false; save.hidden = false; edit.hidden = true;
    editor.querySelector("textarea").focus();
    return;
  }
  const kind = card.dataset.kind;
  const content = editor.querySelector("textarea").value;
  showError(slot, "");
  try {
    const doc = await api("PUT", `/api/projects/${encodeURIComponent(projectId())}/documents/${kind}`, { content });
    card.querySelector(".rendered").innerHTML = doc.html;
    editor.hidden = true; save.hidden = true; edit.hidden = false;
    edit.focus();
    say(`${kind}.md saved.`);
  } catch (error) {
    showError(slot, `Could not save ${kind}.md: ` + error.message);
  }
}

function setupProject() {
  if (!projectId()) return;
  document.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action]");
    if (!button || button.disabled) return;
    if (button.closest(".document")) onDocument(button);
    else onControl(button);
  });
  document.addEventListener("submit", (event) => {
    if (event.target.id === "answers") { event.preventDefault(); onAnswers(event.target); }
    if (event.target.id === "model-form") { event.preventDefault(); onModel(event.target); }
    if (event.target.id === "agent-models-form") { event.preventDefault(); onAgentModels(event.target); }
  });
}

document.addEventListener("DOMContentLoaded", () => {
  setupFilter();
  setupDelete();
  setupNewProject();
  setupProject();
});
