"""`AskUser` questions, the user's answers, and the one rule an answer must follow."""

from __future__ import annotations

from pydantic import BaseModel, Field

from forgeline.domain.errors import UserError


class QuestionOption(BaseModel):
    label: str
    description: str | None = None


class Question(BaseModel):
    """One `AskUser` question (DESIGN §4)."""

    question: str
    header: str | None = None
    options: list[QuestionOption] | None = None
    multiSelect: bool = False


class Answer(BaseModel):
    """The user's answer to one question: chosen labels and/or free text ("Other")."""

    question: str
    selected: list[str] = Field(default_factory=list)
    other: str | None = None

    def render(self) -> str:
        parts = list(self.selected)
        if self.other:
            parts.append(f"Other: {self.other}")
        return ", ".join(parts) if parts else "(no answer)"


def validate_answer(
    answer: Answer, *, options: list[QuestionOption] | None, multi_select: bool
) -> None:
    """An answer must pick existing options (one unless multi-select) or say "Other".

    Raises:
        UserError: The answer does not fit the question (the reason named).
    """
    if options is None:
        if not (answer.other or "").strip() and not answer.selected:
            raise UserError("this question needs a free-text answer")
        return
    labels = {o.label for o in options}
    unknown = [s for s in answer.selected if s not in labels]
    if unknown:
        raise UserError(f"'{unknown[0]}' is not one of the options: {', '.join(sorted(labels))}")
    if len(answer.selected) > 1 and not multi_select:
        raise UserError("this question takes one answer")
    if not answer.selected and not (answer.other or "").strip():
        raise UserError("choose an option or answer 'Other' with text")
