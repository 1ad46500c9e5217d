"""The agent loop with real tools on a real directory, driven by scripted and test models."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from forgeline.agents.loop import AgentRun, Budget, Outcome, run_agent
from forgeline.agents.tool_calls import ContextDelta, apply_delta, concurrent_groups, tool_step
from forgeline.domain.errors import ModelError
from forgeline.domain.events import EventType, ListSink
from forgeline.domain.messages import Message, ModelRequest, ModelResponse, ToolCall, Usage
from forgeline.llm.base import TextCallback
from forgeline.llm.scripted import Script, ScriptedModel, ScriptedTurn
from forgeline.tools.base import ToolContext

TOOLS = ["Read", "Write", "Edit", "Glob", "Grep", "TodoWrite"]


class FunctionModel:
    """A model whose answers come from a Python function of the request (a test transport)."""

    def __init__(self, fn: Callable[[ModelRequest], Message], *, cost: float = 0.0) -> None:
        self._fn = fn
        self._cost = cost
        self.requests: list[ModelRequest] = []

    @property
    def name(self) -> str:
        return "function:test"

    async def complete(
        self, request: ModelRequest, *, on_text: TextCallback | None = None
    ) -> ModelResponse:
        self.requests.append(request)
        message = self._fn(request)
        usage = Usage(input_tokens=100, output_tokens=10, cost_usd=self._cost, calls=1)
        return ModelResponse(message=message, stop_reason="end_turn", usage=usage, model=self.name)


def scripted(turns: list[dict[str, object]]) -> ScriptedModel:
    script = Script(agents={"agent": [ScriptedTurn.model_validate(t) for t in turns]})
    return ScriptedModel(script, agent="agent")


def context(tmp_path: Path) -> ToolContext:
    (tmp_path / "notes.txt").write_text("alpha\nbeta\n")
    return ToolContext(workspace=tmp_path.resolve(), agent="agent", writable=(tmp_path.resolve(),))


async def run(model: object, ctx: ToolContext, sink: ListSink, **kwargs: object) -> object:
    return await run_agent(
        agent="agent",
        model=model,
        system="You are the agent.",
        tools=TOOLS,
        ctx=ctx,  # type: ignore[arg-type]
        messages=[Message(role="user", text="go")],
        sink=sink,
        **kwargs,  # type: ignore[arg-type]
    )


async def test_runs_tools_until_the_model_answers_without_one(tmp_path: Path) -> None:
    model = scripted(
        [
            {
                "text": "Reading.",
                "tool_calls": [{"name": "Read", "input": {"file_path": "notes.txt"}}],
            },
            {
                "tool_calls": [
                    {
                        "name": "Edit",
                        "input": {
                            "file_path": "notes.txt",
                            "old_string": "beta",
                            "new_string": "gamma",
                        },
                    }
                ]
            },
            {"text": "Done."},
        ]
    )
    sink = ListSink()
    result = await run(model, context(tmp_path), sink)
    assert result.outcome == Outcome.COMPLETED and result.final_text == "Done."  # type: ignore[attr-defined]
    assert (tmp_path / "notes.txt").read_text() == "alpha\ngamma\n"
    types = [e.type for e in sink.events]
    assert types.count(EventType.TOOL_CALL) == 2 and types.count(EventType.USAGE) == 3
    assert result.usage.calls == 3  # type: ignore[attr-defined]


async def test_a_failed_tool_call_is_data_for_the_model(tmp_path: Path) -> None:
    bad = ToolCall(id="1", name="Read", input={}, parse_error="Expecting value: line 1")

    def answer(request: ModelRequest) -> Message:
        if len(request.messages) == 1:
            return Message(
                role="assistant",
                tool_calls=[bad, ToolCall(id="2", name="Read", input={"file_path": "../x"})],
            )
        results = request.messages[-1].tool_results
        assert all(r.is_error for r in results)
        assert (
            "not valid JSON" in results[0].content and "outside the workspace" in results[1].content
        )
        return Message(role="assistant", text="ok")

    result = await run(FunctionModel(answer), context(tmp_path), ListSink())
    assert result.outcome == Outcome.COMPLETED  # type: ignore[attr-defined]


async def test_loop_detector_warns_at_three_and_stops_at_five(tmp_path: Path) -> None:
    glob = {"tool_calls": [{"name": "Glob", "input": {"pattern": "*.txt"}}]}
    model = scripted([glob] * 6 + [{"text": "never"}])
    sink = ListSink()
    result = await run(model, context(tmp_path), sink)
    assert result.outcome == Outcome.LOOP and "5 times in a row" in result.reason  # type: ignore[attr-defined]
    contents = [e.data["content"] for e in sink.of_type(EventType.TOOL_RESULT)]
    assert "[Forgeline]" not in contents[1] and "3 times in a row" in contents[2]


@pytest.mark.parametrize(
    ("budget", "needle"),
    [
        (Budget(max_steps=2), "step limit (2 model calls)"),
        (Budget(max_tokens=150), "over its budget of 150"),
        (Budget(max_cost_usd=0.5), "over its budget of $0.50"),
    ],
)
async def test_budgets_end_the_run_with_a_reason(
    tmp_path: Path, budget: Budget, needle: str
) -> None:
    def forever(request: ModelRequest) -> Message:
        n = len(request.messages)
        return Message(
            role="assistant",
            tool_calls=[ToolCall(id=str(n), name="Glob", input={"pattern": f"{n}*"})],
        )

    result = await run(
        FunctionModel(forever, cost=0.3), context(tmp_path), ListSink(), budget=budget
    )
    assert result.outcome == Outcome.LIMIT and needle in result.reason  # type: ignore[attr-defined]


async def test_cancellation_mid_call(tmp_path: Path) -> None:
    started = asyncio.Event()

    class Hanging(FunctionModel):
        async def complete(
            self, request: ModelRequest, *, on_text: TextCallback | None = None
        ) -> ModelResponse:
            started.set()
            await asyncio.sleep(3600)
            raise AssertionError("unreachable")

    task = asyncio.create_task(
        run(Hanging(lambda r: Message(role="assistant")), context(tmp_path), ListSink())
    )
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_hooks_add_text_before_the_next_call(tmp_path: Path) -> None:
    class Hooks:
        turns = 0

        async def before_model_call(self, run: AgentRun) -> str:
            return "[Forgeline] a finding" if self.turns else ""

        async def after_turn(self, run: AgentRun) -> None:
            self.turns += 1

    def answer(request: ModelRequest) -> Message:
        if len(request.messages) == 1:
            return Message(
                role="assistant", tool_calls=[ToolCall(id="a", name="Glob", input={"pattern": "*"})]
            )
        assert (
            request.messages[-1].text == "[Forgeline] a finding"
            and request.messages[-1].tool_results
        )
        return Message(role="assistant", text="seen")

    result = await run(FunctionModel(answer), context(tmp_path), ListSink(), hooks=Hooks())
    assert result.final_text == "seen"  # type: ignore[attr-defined]


async def test_a_replayed_tool_step_restores_the_context(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    run_state = AgentRun(
        agent="agent",
        model=scripted([]),
        system="",
        tools=TOOLS,
        ctx=ctx,
        sink=ListSink(),
        steps=None,
        messages=[],
        budget=Budget(),
    )  # type: ignore[arg-type]
    read = ToolCall(id="r", name="Read", input={"file_path": "notes.txt"})
    output = await tool_step(run_state, read)
    fresh = context(tmp_path)
    apply_delta(fresh, ContextDelta.model_validate(output.delta.model_dump()))
    assert fresh.read_files == ctx.read_files and fresh.read_files


def test_consecutive_read_only_calls_share_a_group() -> None:
    calls = [
        ToolCall(id=str(i), name=n) for i, n in enumerate(["Read", "Grep", "Edit", "Glob", "Read"])
    ]
    assert [[c.name for c in g] for g in concurrent_groups(calls)] == [
        ["Read", "Grep"],
        ["Edit"],
        ["Glob", "Read"],
    ]


async def test_scripted_model_names_the_agent_when_turns_run_out() -> None:
    with pytest.raises(ModelError, match="agent 'agent'"):
        await scripted([]).complete(
            ModelRequest(system="", messages=[Message(role="user", text="x")])
        )
