"""The model factory the runtime carries: which `Model` an agent run talks to.

Provider models (`anthropic:`, `openai:`) are built from their spec alone. A `scripted:`
model replays a script whose runs are per agent, so it must know which run of its agent
this is in the project; only this factory works that out (from the tasks created before
this one, which a replay sees unchanged), and nothing else on the production path does.
"""

from __future__ import annotations

from dataclasses import dataclass

from forgeline.llm import resolve_model, validate_model_spec
from forgeline.llm.base import Model
from forgeline.settings import Settings
from forgeline.store import Store
from forgeline.store.schemas import TaskRecord


@dataclass(frozen=True)
class ModelFactory:
    """Builds the model for one agent run of a task."""

    settings: Settings
    store: Store

    async def build(self, spec: str, *, agent: str, task: TaskRecord) -> Model:
        """The model `spec` names, for `agent` running in `task`."""
        if validate_model_spec(spec).startswith("scripted:"):
            index = await self._scripted_run(agent, task)
            return resolve_model(spec, settings=self.settings, agent=agent, run_index=index)
        return resolve_model(spec, settings=self.settings, agent=agent)

    async def _scripted_run(self, agent: str, task: TaskRecord) -> int:
        """How many earlier tasks of the project ran `agent` (the script's run to replay)."""
        tasks = await self.store.list_tasks(task.project_id)
        return sum(1 for t in tasks if t.agent == agent and t.created_at < task.created_at)
