"""`scripted:<path>`: replays a script of turns per agent (DESIGN §5). No LLM.

The script maps agent names to turns. Each run of an agent replays the turns after
those earlier runs consumed: a run ends at the first turn without tool calls, so the
second review run starts after the first review run's final turn. Which turn to
replay is derived from the request (the number of model turns so far, counting those
a compacted conversation's summary stands for), so a restarted process replays the
same turn the crashed one would have.

A compaction call (DESIGN §15) is answered without using a turn: with the script's
optional `compaction: {agent: text}` entry, else with a built-in summary derived from
the request, so every DESIGN §5 script keeps working unchanged. With a price for the
model (`FORGELINE_PRICES`, keyed by the script path or by `scripted`), calls cost money.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, ValidationError

from forgeline.domain.errors import ModelError, UserError
from forgeline.domain.messages import Message, ModelRequest, ModelResponse, ToolCall, Usage
from forgeline.llm.base import TextCallback
from forgeline.llm.pricing import cost_for, price_for
from forgeline.llm.tokens import IncrementalSum
from forgeline.settings import ModelPrice

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ScriptedToolCall(BaseModel):
    name: str
    input: dict[str, Any] = Field(default_factory=dict)


class ScriptedTurn(BaseModel):
    text: str = ""
    tool_calls: list[ScriptedToolCall] = Field(default_factory=list)
    # Seconds to wait before answering (benchmarks simulate model latency with it).
    delay: float = 0.0


class Script(BaseModel):
    agents: dict[str, list[ScriptedTurn]]
    # Summaries answering compaction calls, per agent (optional; a built-in one otherwise).
    compaction: dict[str, str] = Field(default_factory=dict)
    delay: float = 0.0
    # Optional file that records every call's start and end (tests check that no
    # call that returned is ever made again).
    call_log: str | None = None

    def runs(self, agent: str) -> list[list[ScriptedTurn]]:
        """Split an agent's turns into runs, each ending at a turn without tool calls."""
        runs: list[list[ScriptedTurn]] = [[]]
        for turn in self.agents.get(agent, []):
            runs[-1].append(turn)
            if not turn.tool_calls:
                runs.append([])
        return [run for run in runs if run]


def load_script(path: Path) -> Script:
    """Read and validate a script file (YAML or JSON); parsed once per file version."""
    try:
        stat = path.stat()
    except OSError as exc:
        raise UserError(f"cannot read model script {path}: {exc.strerror}") from exc
    return _parse_script(path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=32)
def _parse_script(path: Path, _mtime_ns: int, _size: int) -> Script:
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)  # noqa: S506 (a safe loader)
    except OSError as exc:
        raise UserError(f"cannot read model script {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise UserError(f"model script {path} is not UTF-8 text") from None
    except yaml.YAMLError as exc:
        raise UserError(f"model script {path} is not valid YAML/JSON{_position(exc)}") from None
    try:
        return Script.model_validate(raw)
    except ValidationError as exc:
        raise UserError(f"model script {path} is malformed: {_problems(exc)}") from None


def _position(exc: yaml.YAMLError) -> str:
    """Where a YAML error is, as " (line L, column C)"; never the file's content."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line, column = getattr(mark, "line", None), getattr(mark, "column", None)
    if not isinstance(line, int) or not isinstance(column, int):
        return ""
    return f" (error at line {line + 1}, column {column + 1})"


_SCRIPT_FIELDS = frozenset({"agents", "delay", "call_log", "text", "tool_calls", "name", "input"})


def _problems(exc: ValidationError) -> str:
    """Pydantic's errors as `where: what`, without the values (they are the file's content)."""
    parts = []
    for error in exc.errors(include_url=False, include_input=False)[:3]:
        where = ".".join(_loc_part(item) for item in error["loc"])
        parts.append(f"{where}: {error['msg']}" if where else error["msg"])
    more = len(exc.errors()) - len(parts)
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def _loc_part(item: int | str) -> str:
    if isinstance(item, int):
        return f"[{item}]"
    return item if item in _SCRIPT_FIELDS else "<key>"


class ScriptedModel:
    """A model that replays scripted turns for one agent run.

    Args:
        script: The parsed script.
        agent: The agent whose turns are replayed.
        run_index: Which run of this agent in the project (0 for the first).
        label: Shown in the model name.
    """

    def __init__(
        self,
        script: Script,
        *,
        agent: str,
        run_index: int = 0,
        label: str = "",
        prices: Mapping[str, ModelPrice] | None = None,
    ) -> None:
        self._prices = prices
        self._script = script
        self._agent = agent
        self._run_index = run_index
        self._label = label
        self._turns = [turn for run in script.runs(agent)[run_index:] for turn in run]
        # Counted incrementally: a long run would otherwise recount its whole
        # conversation on every call.
        self._sizes = IncrementalSum(_message_chars)
        self._turns_taken = IncrementalSum(_message_turns)

    @property
    def name(self) -> str:
        return f"scripted:{self._label}"

    async def complete(
        self, request: ModelRequest, *, on_text: TextCallback | None = None
    ) -> ModelResponse:
        if request.purpose == "compaction":
            return await self._compaction(request)
        index = self._turns_taken.total(request.messages)
        turns = self._turns
        if index >= len(turns):
            raise ModelError(
                f"the scripted model has no more turns for agent '{self._agent}' "
                f"(run {self._run_index + 1}, turn {index + 1})"
            )
        turn = turns[index]
        self._log("start", index)
        delay = turn.delay or self._script.delay
        if delay:
            await asyncio.sleep(delay)
        self._log("end", index)
        if on_text and turn.text:
            on_text(turn.text)
        calls = [
            ToolCall(id=f"call_{self._run_index}_{index}_{i}", name=c.name, input=c.input)
            for i, c in enumerate(turn.tool_calls)
        ]
        message = Message(role="assistant", text=turn.text, tool_calls=calls)
        usage = self._usage(request, max(1, len(turn.text) // 4 + 20 * len(calls)))
        stop = "tool_use" if calls else "end_turn"
        return ModelResponse(message=message, stop_reason=stop, usage=usage, model=self.name)

    async def _compaction(self, request: ModelRequest) -> ModelResponse:
        """A summary, logged as turn `compact` and as slow as a turn (crash tests use both)."""
        self._log("start", "compact")
        if self._script.delay:
            await asyncio.sleep(self._script.delay)
        self._log("end", "compact")
        text = self._script.compaction.get(self._agent) or _builtin_summary(request)
        message = Message(role="assistant", text=text)
        usage = self._usage(request, max(1, len(text) // 4))
        return ModelResponse(message=message, stop_reason="end_turn", usage=usage, model=self.name)

    def _usage(self, request: ModelRequest, output_tokens: int) -> Usage:
        size = len(request.system) + 400 * len(request.tools) + self._sizes.total(request.messages)
        usage = Usage(input_tokens=max(1, size // 4), output_tokens=output_tokens, calls=1)
        key = self._label if price_for(self._label, overrides=self._prices) else "scripted"
        cost = cost_for(key, usage, overrides=self._prices) if self._prices else 0.0
        return usage.model_copy(update={"cost_usd": cost})

    def _log(self, what: str, index: int | str) -> None:
        if self._script.call_log:
            line = f"{what} {self._agent} {self._run_index} {index} {time.time():.6f}\n"
            with open(self._script.call_log, "a", encoding="utf-8") as log:
                log.write(line)


def _message_turns(message: Message) -> int:
    """Model turns a message stands for (a compacted conversation's summary: many)."""
    turns = message.summary.turns if message.summary is not None else 0
    return turns + (message.role == "assistant")


def _builtin_summary(request: ModelRequest) -> str:
    """A deterministic summary: what the transcript holds, without a model."""
    text = request.messages[-1].text if request.messages else ""
    calls = text.count("\nassistant called ") + text.startswith("assistant called ")
    return (
        f"(scripted summary) The earlier conversation had {calls} tool calls "
        f"in {len(text)} characters of transcript."
    )


def _message_chars(message: Message) -> int:
    """A message's size for the usage estimate (about four characters a token)."""
    size = len(message.text) + sum(len(r.content) for r in message.tool_results)
    return size + sum(len(c.name) + 16 * len(c.input) for c in message.tool_calls)
