"""AskUser questions and answers."""

from __future__ import annotations

import pytest

from dbfixtures import make_project
from forgeline.domain.errors import ConflictError, NotFoundError, UserError
from forgeline.store import Store
from forgeline.tools.base import Answer, Question, QuestionOption

QUESTIONS = [
    Question(
        question="Which storage?",
        header="Storage",
        options=[
            QuestionOption(label="SQLite", description="embedded"),
            QuestionOption(label="PG"),
        ],
    ),
    Question(
        question="Which platforms?",
        options=[QuestionOption(label="Linux"), QuestionOption(label="macOS")],
        multiSelect=True,
    ),
    Question(question="Anything else?"),
]


async def test_add_questions_is_idempotent_per_batch_and_position(store: Store) -> None:
    project = await make_project(store)
    task = await store.create_task(project.id, "planning", "planning")
    first = await store.add_questions(project.id, task.id, "call-1", QUESTIONS)
    assert [(q.position, q.header, q.multi_select) for q in first] == [
        (0, "Storage", False),
        (1, None, True),
        (2, None, False),
    ]
    assert first[0].options == QUESTIONS[0].options and first[2].options is None
    assert first[0].to_question() == QUESTIONS[0]
    assert all(q.pending and q.task_id == task.id for q in first)
    again = await store.add_questions(project.id, task.id, "call-1", QUESTIONS)
    assert again == first
    other = await store.add_questions(project.id, task.id, "call-2", QUESTIONS[:1])
    assert other[0].id != first[0].id
    assert len(await store.list_questions(project.id)) == 4
    assert [q.id for q in await store.list_questions(project.id, batch="call-2")] == [other[0].id]


async def test_answers_are_recorded_once(store: Store) -> None:
    project = await make_project(store)
    questions = await store.add_questions(project.id, None, "b", QUESTIONS)
    answered = await store.answer_question(
        questions[1].id, Answer(question="Which platforms?", selected=["Linux", "macOS"])
    )
    assert not answered.pending and answered.answered_at is not None
    assert answered.answer == Answer(question="Which platforms?", selected=["Linux", "macOS"])
    assert await store.get_question(questions[1].id) == answered
    with pytest.raises(ConflictError, match="already answered"):
        await store.answer_question(questions[1].id, Answer(question="x", selected=["Linux"]))
    await store.answer_question(questions[2].id, Answer(question="x", other="No."))
    pending = await store.list_questions(project.id, pending=True)
    done = await store.list_questions(project.id, pending=False)
    assert [q.position for q in pending] == [0]
    assert [q.position for q in done] == [1, 2]
    assert done[1].answer is not None and done[1].answer.render() == "Other: No."


async def test_answers_that_do_not_fit_are_refused(store: Store) -> None:
    project = await make_project(store)
    single, _multi, free = await store.add_questions(project.id, None, "b", QUESTIONS)
    with pytest.raises(UserError, match="'MySQL' is not an option"):
        await store.answer_question(single.id, Answer(question="", selected=["MySQL"]))
    with pytest.raises(UserError, match="takes one option"):
        await store.answer_question(single.id, Answer(question="", selected=["SQLite", "PG"]))
    with pytest.raises(UserError, match="needs a chosen option or some text"):
        await store.answer_question(free.id, Answer(question="", other="  "))
    assert (await store.get_question(single.id)).pending
    ok = await store.answer_question(single.id, Answer(question="", selected=["PG"], other="15"))
    assert ok.answer is not None and ok.answer.render() == "PG, Other: 15"


async def test_unknown_questions_and_projects(store: Store) -> None:
    with pytest.raises(NotFoundError, match="No question"):
        await store.get_question("q-none")
    with pytest.raises(NotFoundError, match="No question"):
        await store.answer_question("q-none", Answer(question="", other="x"))
    with pytest.raises(NotFoundError, match="No project"):
        await store.add_questions("missing", None, "b", QUESTIONS)
