"""Context management: clearing old tool results, compaction, and replay of a compaction."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from forgeline.agents import context
from forgeline.agents.context import ContextPolicy, clear_results, model_turns
from forgeline.agents.loop import Outcome, run_agent
from forgeline.domain.events import EventType, ListSink
from forgeline.domain.messages import Message, ModelRequest, ToolCall, ToolResult
from forgeline.llm.scripted import Script, ScriptedModel, ScriptedTurn
from forgeline.llm.tokens import request_tokens
from forgeline.tools.base import Answer, Question, ToolContext

T = TypeVar("T")
REQUEST = "Make the parser strict. VERBATIM-REQUEST"
ANSWER = "Reject unknown keys. VERBATIM-ANSWER"


def call(id_: str, name: str, **input_: object) -> ToolCall:
    return ToolCall(id=id_, name=name, input=dict(input_))


def turn(id_: str, name: str, content: str, **input_: object) -> list[Message]:
    return [
        Message(role="assistant", tool_calls=[call(id_, name, **input_)]),
        Message(role="user", tool_results=[ToolResult(tool_call_id=id_, content=content)]),
    ]


def conversation() -> list[Message]:
    big = "\n".join(f"{n:6}\tline {n} of the file" for n in range(1, 200))
    messages = [Message(role="user", text=REQUEST)]
    messages += turn("a", "AskUser", f"Q: strict?\nA: {ANSWER}", questions=[])
    messages += turn("r1", "Read", big, file_path="src/parser.py")
    messages += turn("b1", "Bash", "F" * 400 + "\n3 failed\nexit code: 1", command="pytest -q")
    messages += turn("w1", "Edit", "edited", file_path="src/parser.py")
    messages += turn("r2", "Read", big, file_path="src/other.py")
    messages += turn("r3", "Read", big, file_path="src/last.py")
    return messages


def test_clearing_replaces_the_oldest_results_by_notes_and_keeps_answers() -> None:
    messages = conversation()
    cleared = clear_results(messages, excess=10**6)
    results = {r.tool_call_id: r.content for m in messages for r in m.tool_results}
    assert cleared == 2  # r1 and b1: Edit's result is too short to clear; r2, r3 are recent
    assert results["r1"] == "[cleared: Read src/parser.py, 199 lines — Read again if needed]"
    assert (
        results["b1"]
        == "[cleared: Bash pytest -q, exit code 1, 3 lines — call Bash again if needed]"
    )
    assert ANSWER in results["a"]
    assert results["r3"].startswith("     1\tline 1")
    # The calls stay, so the model can see what it did and call the tool again.
    assert [c.id for m in messages for c in m.tool_calls] == ["a", "r1", "b1", "w1", "r2", "r3"]


def test_clearing_stops_once_enough_is_freed() -> None:
    messages = conversation()
    assert clear_results(messages, excess=1, keep_recent=0) == 1


async def test_compaction_keeps_the_task_answers_files_and_commands_verbatim() -> None:
    messages = conversation()
    turns_before = model_turns(messages)
    policy = ContextPolicy(window=3_000)
    seen: list[ModelRequest] = []

    async def summarise(request: ModelRequest) -> str:
        seen.append(request)
        return "## Goal and progress\nParser half done."

    report = await context.fit(messages, fixed_tokens=100, policy=policy, summarise=summarise)

    assert report is not None and report.compacted
    assert report.after_tokens < report.before_tokens
    assert messages[0].text == REQUEST
    summary = messages[2].summary
    assert summary is not None
    assert any(ANSWER in a for a in summary.answers)
    assert summary.files_changed == ["src/parser.py"]
    assert summary.commands == ["`pytest -q` → exit code 1"]
    assert ANSWER in messages[2].text and "Parser half done." in messages[2].text
    assert all(a.role != b.role for a, b in itertools.pairwise(messages))
    assert model_turns(messages) == turns_before
    assert seen[0].purpose == "compaction"
    assert request_tokens(seen[0]) + seen[0].max_tokens <= policy.window


async def test_a_second_compaction_keeps_what_the_first_kept() -> None:
    messages = conversation()
    policy = ContextPolicy(window=3_000)

    async def summarise(request: ModelRequest) -> str:
        return "summary"

    await context.fit(messages, fixed_tokens=100, policy=policy, summarise=summarise)
    messages += turn("b2", "Bash", "ok\nexit code: 0", command="pytest -q tests/parser")
    messages += turn("r4", "Read", "x\n" * 2000, file_path="src/big.py")
    messages += turn("r5", "Read", "y\n" * 2000, file_path="src/big2.py")
    await context.fit(messages, fixed_tokens=100, policy=policy, summarise=summarise)
    summary = messages[2].summary
    assert summary is not None and summary.compactions == 2
    assert any(ANSWER in a for a in summary.answers)
    assert summary.commands[-1] == "`pytest -q tests/parser` → exit code 0"
    assert "`pytest -q` → exit code 1" in summary.commands


def test_the_window_comes_from_the_table_and_the_settings() -> None:
    from forgeline.llm.pricing import DEFAULT_CONTEXT_WINDOW, context_window
    from forgeline.settings import Settings

    assert context_window("anthropic:claude-sonnet-4-5-20250929") == 200_000
    assert context_window("openai:some-local-model") == DEFAULT_CONTEXT_WINDOW
    settings = Settings(context_windows={"openai:llama3": 4096})  # FORGELINE_CONTEXT_WINDOWS
    assert context_window("openai:llama3", overrides=settings.context_windows) == 4096


def test_context_windows_parse_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from forgeline.settings import Settings

    monkeypatch.setenv("FORGELINE_CONTEXT_WINDOWS", '{"openai:llama3": 8192}')
    assert Settings().context_windows == {"openai:llama3": 8192}


# A long scripted run, and its replay -----------------------------------------------------


def long_script(steps: int) -> Script:
    ask = {"questions": [{"question": "Strict how?"}]}
    turns = [ScriptedTurn.model_validate({"tool_calls": [{"name": "AskUser", "input": ask}]})]
    turns += [
        ScriptedTurn.model_validate(
            {"tool_calls": [{"name": "Read", "input": {"file_path": f"f{n % 5}.txt"}}]}
        )
        for n in range(steps - 2)
    ]
    turns.append(ScriptedTurn(text="Done."))
    return Script(agents={"agent": turns})


def tool_context(tmp_path: Path) -> ToolContext:
    for n in range(5):
        (tmp_path / f"f{n}.txt").write_text("".join(f"row {i} of file {n}\n" for i in range(60)))

    async def ask(questions: list[Question]) -> list[Answer]:
        return [Answer(question=q.question, other=ANSWER) for q in questions]

    return ToolContext(workspace=tmp_path.resolve(), agent="agent", ask_user=ask)


class Crash(BaseException):
    """Stands for kill -9: nothing after it runs."""


class Recorder:
    """A `StepRunner` that records each finished step's output and replays recorded ones,
    as DBOS does: a step that was running when the process died runs again."""

    def __init__(self, recorded: list[Any] | None = None, crash_at: str | None = None) -> None:
        self.outputs: list[Any] = list(recorded or [])
        self.position = 0
        self.executed: list[str] = []
        self._crash_at = crash_at

    async def __call__(self, name: str, fn: Callable[[], Awaitable[T]]) -> T:
        if self.position < len(self.outputs):
            self.position += 1
            recorded_name, output = self.outputs[self.position - 1]
            assert recorded_name == name, "a replay must take the same steps in the same order"
            return output  # type: ignore[no-any-return]
        if name == self._crash_at:
            self._crash_at = None
            await fn()  # the summary call runs, but the process dies before recording it
            raise Crash
        self.executed.append(name)
        result = await fn()
        self.outputs.append((name, result))
        self.position += 1
        return result


async def scripted_run(tmp_path: Path, steps: Recorder, script: Script) -> list[Message]:
    messages = [Message(role="user", text=REQUEST)]
    result = await run_agent(
        agent="agent",
        model=ScriptedModel(script, agent="agent"),
        system="You are the agent.",
        tools=["Read", "AskUser"],
        ctx=tool_context(tmp_path),
        messages=messages,
        sink=ListSink(),
        steps=steps,
        policy=ContextPolicy(window=6_000),
    )
    assert result.outcome == Outcome.COMPLETED, result.reason
    return messages


async def test_a_long_scripted_run_compacts_and_fits(tmp_path: Path) -> None:
    sink = ListSink()
    script = long_script(120)
    model = ScriptedModel(script, agent="agent")
    sizes: list[int] = []
    original = model.complete

    async def measured(request: ModelRequest, **kw: Any) -> Any:
        sizes.append(request_tokens(request) + request.max_tokens)
        return await original(request, **kw)

    model.complete = measured  # type: ignore[method-assign]
    result = await run_agent(
        agent="agent",
        model=model,
        system="You are the agent.",
        tools=["Read", "AskUser"],
        ctx=tool_context(tmp_path),
        messages=[Message(role="user", text=REQUEST)],
        sink=sink,
        policy=ContextPolicy(window=6_000),
    )
    assert result.outcome == Outcome.COMPLETED, result.reason
    assert result.steps == 120
    assert max(sizes) <= 6_000 * 0.8
    compacted = [e for e in sink.of_type(EventType.CONTEXT_COMPACTED) if e.data["compacted"]]
    assert len(compacted) >= 2
    assert result.messages[0].text == REQUEST
    assert ANSWER in result.messages[2].text


async def test_replay_after_a_crash_mid_compaction_gives_the_same_conversation(
    tmp_path: Path,
) -> None:
    script = long_script(60)
    clean = await scripted_run(tmp_path, Recorder(), script)

    crashing = Recorder(crash_at="compact")
    with pytest.raises(Crash):
        await scripted_run(tmp_path, crashing, script)
    assert "compact" not in crashing.executed  # it died inside the first compaction
    resumed = Recorder(recorded=crashing.outputs)
    replayed = await scripted_run(tmp_path, resumed, script)
    assert replayed == clean
    assert resumed.executed.count("compact") >= 1

    # A full replay from the record calls nothing and rebuilds the same conversation.
    again = Recorder(recorded=resumed.outputs)
    assert await scripted_run(tmp_path, again, script) == clean
    assert again.executed == []


def test_scripted_model_answers_compaction_from_the_script() -> None:
    script = Script.model_validate(
        {"agents": {"agent": [{"text": "Done."}]}, "compaction": {"agent": "Custom summary."}}
    )
    model = ScriptedModel(script, agent="agent")
    request = ModelRequest(
        system="s", messages=[Message(role="user", text="transcript")], purpose="compaction"
    )
    import asyncio

    response = asyncio.run(model.complete(request))
    assert response.message.text == "Custom summary."
