"""Research: the agent studies the repositories and writes research.md."""

from __future__ import annotations

from forgeline.domain.results import DocumentResult
from forgeline.orchestrator.context import PhaseContext
from forgeline.orchestrator.phases.writing import write_document_phase


async def run(ctx: PhaseContext) -> DocumentResult:
    """The research phase's body."""
    message = (
        f"Feature request:\n\n{ctx.project.feature_request}\n\n"
        "Study the repositories in the workspace for this request and write research.md at "
        "the workspace root."
    )
    return await write_document_phase(
        ctx, agent="research", doc=ctx.ws.research_md, message=message
    )
