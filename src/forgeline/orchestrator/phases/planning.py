"""Planning: the agent asks the user what changes the plan, then writes planning.md."""

from __future__ import annotations

from forgeline.domain.results import DocumentResult
from forgeline.orchestrator.context import PhaseContext
from forgeline.orchestrator.phases.common import read_document
from forgeline.orchestrator.phases.writing import write_document_phase


async def run(ctx: PhaseContext) -> DocumentResult:
    """The planning phase's body."""
    research_text = read_document(ctx.ws.research_md) or "(no research.md: research was skipped)"
    message = (
        f"Feature request:\n\n{ctx.project.feature_request}\n\n"
        f"research.md:\n\n{research_text}\n\n"
        "Ask the user the clarifying questions that change the plan (AskUser), then write "
        "planning.md at the workspace root."
    )
    return await write_document_phase(
        ctx, agent="planning", doc=ctx.ws.planning_md, message=message
    )
