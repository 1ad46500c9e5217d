"use strict";
// Forgeline web UI: the model per agent (project page and New project form). Loaded before
// app.js, which calls these helpers; `showError` is app.js's.

// ---- Model per agent ---------------------------------------------------------
// The option that keeps a choice the page does not spell out (a scripted model's path).
const KEEP = "__current__";
const CHOSEN_SOURCE = "chosen for this project";

function agentModelsOf(root, current) {
  const chosen = {};
  root.querySelectorAll("select[name=agent-model]").forEach((select) => {
    const agent = select.dataset.agent;
    if (select.value === KEEP) {
      if (current && current[agent]) chosen[agent] = current[agent];
    } else if (select.value) {
      chosen[agent] = select.value;
    }
  });
  return chosen;
}

function clearAgentErrors(root) {
  root.querySelectorAll(".agent-model .field-error").forEach((slot) => showError(slot, ""));
}

// The server names the agent whose model it refused (`agent_models.<agent>: why`): the
// message goes beside that agent's select. False when the message names no agent here.
function placeAgentError(root, message) {
  const match = /^agent_models\.([A-Za-z0-9_-]+): ([\s\S]*)$/.exec(message);
  const row = match && root.querySelector(`.agent-model[data-agent="${CSS.escape(match[1])}"]`);
  if (!row) return false;
  showError(row.querySelector(".field-error"), match[2]);
  const details = row.closest("details");
  if (details) details.open = true;
  row.querySelector("select").focus();
  return true;
}

// Saved: the page's current choices become the ones a refresh may replace.
function markSaved(form) {
  form.querySelectorAll("option").forEach((option) => { option.defaultSelected = option.selected; });
}

function unsaved(section) {
  return [...section.querySelectorAll("option")].some((o) => o.selected !== o.defaultSelected);
}

// New project form: "project default (…)" and "Runs on …" follow the Model select.
function updateAgentRow(row, projectModel, defaultModel) {
  if ("followsProject" in row.dataset) {
    row.dataset.fallback = projectModel || defaultModel;
    row.dataset.fallbackSource = projectModel ? "the project's model" : "the server's default";
  }
  const select = row.querySelector("select");
  const fallback = row.dataset.fallback || "";
  select.options[0].textContent = `project default (${fallback || "none configured"})`;
  const runs = row.querySelector(".runs-on");
  const code = document.createElement("code");
  code.textContent = select.value || fallback || "no model";
  const source = select.value ? CHOSEN_SOURCE : row.dataset.fallbackSource;
  runs.replaceChildren("Runs on ", code, ` (${source})`);
}

function setupAgentModels(form) {
  const fieldset = form.querySelector("#agent-models");
  if (!fieldset) return;
  const model = form.querySelector("#model");
  form.addEventListener("change", (event) => {
    if (!event.target.matches("select")) return;
    const chosen = model.value ? model.options[model.selectedIndex].textContent : "";
    fieldset.querySelectorAll(".agent-model").forEach((row) => {
      updateAgentRow(row, chosen, fieldset.dataset.defaultModel);
    });
  });
}
