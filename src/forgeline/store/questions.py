"""`AskUser` questions and their answers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from forgeline.domain.errors import ConflictError, UserError
from forgeline.domain.questions import Answer, Question, QuestionOption
from forgeline.store.core import StoreCore, not_found
from forgeline.store.models import ProjectRow, QuestionRow
from forgeline.store.projects import new_id
from forgeline.store.schemas import QuestionRecord
from forgeline.store.types import utcnow


def question_record(row: QuestionRow) -> QuestionRecord:
    """The record of a `questions` row."""
    answer = None
    if row.answer is not None:
        answer = Answer(
            question=row.question,
            selected=list(row.answer.get("selected") or []),
            other=row.answer.get("other"),
        )
    options = None
    if row.options is not None:
        options = [QuestionOption.model_validate(option) for option in row.options]
    return QuestionRecord(
        id=row.id,
        project_id=row.project_id,
        task_id=row.task_id,
        batch=row.batch,
        position=row.position,
        question=row.question,
        header=row.header,
        options=options,
        multi_select=row.multi_select,
        answer=answer,
        answered_at=row.answered_at,
        created_at=row.created_at,
    )


def check_answer(row: QuestionRow, answer: Answer) -> None:
    """Refuse an answer that does not fit its question.

    Raises:
        UserError: Nothing is chosen or written, a chosen label is not an option,
            or several are chosen for a single-choice question.
    """
    other = (answer.other or "").strip()
    if not answer.selected and not other:
        raise UserError("An answer needs a chosen option or some text.")
    if row.options is None:
        return
    labels = [str(option.get("label")) for option in row.options]
    unknown = [label for label in answer.selected if label not in labels]
    if unknown:
        raise UserError(
            f"{unknown[0]!r} is not an option of {row.question!r}; "
            f"choose from {', '.join(labels)} or answer with other text."
        )
    if not row.multi_select and len(answer.selected) > 1:
        raise UserError(f"{row.question!r} takes one option, not {len(answer.selected)}.")


class QuestionsMixin(StoreCore):
    """Questions (`questions`)."""

    async def add_questions(
        self,
        project_id: str,
        task_id: str | None,
        batch: str,
        questions: Sequence[Question],
    ) -> list[QuestionRecord]:
        """Record the questions of one `AskUser` call, in order.

        Idempotent per (`batch`, position): when a durable step re-runs, the rows
        already recorded (and any answers they have) are returned unchanged.

        Raises:
            NotFoundError: There is no such project.
        """

        async def add(session: AsyncSession) -> list[QuestionRecord]:
            if await session.get(ProjectRow, project_id) is None:
                raise not_found("project", project_id)
            query = select(QuestionRow).where(
                QuestionRow.project_id == project_id, QuestionRow.batch == batch
            )
            existing = {row.position: row for row in (await session.scalars(query)).all()}
            now = utcnow()
            rows: list[QuestionRow] = []
            for position, question in enumerate(questions):
                row = existing.get(position)
                if row is None:
                    row = _new_row(project_id, task_id, batch, position, question, now)
                    session.add(row)
                rows.append(row)
            await session.flush()
            return [question_record(row) for row in rows]

        try:
            return await self._write(add)
        except IntegrityError:
            # Another writer recorded the same batch at the same time: read its rows.
            return await self._write(add)

    async def get_question(self, question_id: str) -> QuestionRecord:
        """The question with this id.

        Raises:
            NotFoundError: There is none.
        """

        async def get(session: AsyncSession) -> QuestionRecord:
            row = await session.get(QuestionRow, question_id)
            if row is None:
                raise not_found("question", question_id)
            return question_record(row)

        return await self._read(get)

    async def list_questions(
        self,
        project_id: str,
        *,
        pending: bool | None = None,
        batch: str | None = None,
        task_id: str | None = None,
    ) -> list[QuestionRecord]:
        """A project's questions, oldest first.

        Args:
            project_id: The project.
            pending: True for unanswered questions only, False for answered only.
            batch: Only the questions of this `AskUser` call.
            task_id: Only the questions of this task.
        """
        query = select(QuestionRow).where(QuestionRow.project_id == project_id)
        if pending is not None:
            query = query.where(
                QuestionRow.answer.is_(None) if pending else QuestionRow.answer.is_not(None)
            )
        if batch is not None:
            query = query.where(QuestionRow.batch == batch)
        if task_id is not None:
            query = query.where(QuestionRow.task_id == task_id)
        query = query.order_by(QuestionRow.created_at, QuestionRow.batch, QuestionRow.position)

        async def run(session: AsyncSession) -> list[QuestionRecord]:
            return [question_record(row) for row in (await session.scalars(query)).all()]

        return await self._read(run)

    async def answer_question(self, question_id: str, answer: Answer) -> QuestionRecord:
        """Record the user's answer to a question and return the question.

        Raises:
            NotFoundError: There is no such question.
            ConflictError: It is already answered.
            UserError: The answer does not fit the question (see `check_answer`).
        """

        async def record(session: AsyncSession) -> QuestionRecord:
            row = await session.get(QuestionRow, question_id, with_for_update=True)
            if row is None:
                raise not_found("question", question_id)
            if row.answer is not None:
                raise ConflictError(f"Question {question_id!r} is already answered.")
            check_answer(row, answer)
            row.answer = {"selected": list(answer.selected), "other": answer.other}
            row.answered_at = utcnow()
            await session.flush()
            return question_record(row)

        return await self._write(record)


def _new_row(
    project_id: str,
    task_id: str | None,
    batch: str,
    position: int,
    question: Question,
    now: datetime,
) -> QuestionRow:
    options = None
    if question.options is not None:
        options = [option.model_dump() for option in question.options]
    return QuestionRow(
        id=new_id("q"),
        project_id=project_id,
        task_id=task_id,
        batch=batch,
        position=position,
        question=question.question,
        header=question.header,
        options=options,
        multi_select=question.multiSelect,
        answer=None,
        answered_at=None,
        created_at=now,
    )
