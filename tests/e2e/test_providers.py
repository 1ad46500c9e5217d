"""`forgeline run` through the real Anthropic and OpenAI SDKs against the loopback fake server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from forgeline.testing.fake_replies import FakeError, FakeToolCall, FakeTurn, FakeUsage
from forgeline.testing.fakellm import FakeLLM

from .helpers import cli_env, forgeline, make_repo, summary

RESEARCH = "# Research\n\nThe entry point is app.py.\n"


def research_replies() -> list[Any]:
    usage = FakeUsage(
        input_tokens=1200, output_tokens=80, cache_read_tokens=900, cache_write_tokens=300
    )
    return [
        FakeTurn(
            text="Looking around.",
            tool_calls=[FakeToolCall(name="Glob", input={"pattern": "**/*.py"})],
            usage=usage,
        ),
        FakeError(status=429, message="slow down", headers={"retry-after": "0"}),
        FakeTurn(
            tool_calls=[
                FakeToolCall(name="Write", input={"file_path": "research.md", "content": RESEARCH})
            ],
            usage=usage,
        ),
        FakeTurn(text="research.md is written.", usage=usage),
    ]


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_research_phase_through_a_real_sdk(tmp_path: Path, provider: str) -> None:
    repo = make_repo(tmp_path / "app", {"app.py": "print('hi')\n"})
    with FakeLLM() as fake:
        fake.enqueue(*research_replies())
        if provider == "anthropic":
            extra = {"ANTHROPIC_API_KEY": "sk-test", "ANTHROPIC_BASE_URL": fake.anthropic_base_url}
            model = "anthropic:claude-sonnet-4-5"
        else:
            extra = {"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": fake.openai_base_url}
            model = "openai:gpt-4.1"
        env = cli_env(tmp_path / "home", **extra)
        proc = forgeline(
            "run",
            "Document the entry point",
            "--repo",
            str(repo),
            "--model",
            model,
            "--phases",
            "research",
            "--json",
            env=env,
        )
        requests = fake.requests
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = summary(proc)
    assert (Path(result["workspace"]) / "research.md").read_text() == RESEARCH
    total = result["usage"]["total"]
    assert total["calls"] == 3 and total["cost_usd"] > 0
    assert len(requests) == 4  # three turns and the retried 429
    first = requests[0].body
    if provider == "anthropic":
        assert first["system"][0]["text"].startswith("You are the research agent.")
        assert first["system"][-1]["cache_control"] == {"type": "ephemeral"}
        assert first["tools"][-1]["cache_control"] == {"type": "ephemeral"}
        last = requests[-1].body["messages"]
        assert any(
            b.get("type") == "tool_result"
            for m in last
            for b in m["content"]
            if isinstance(b, dict)
        )
    else:
        assert first["messages"][0]["role"] == "system"
        assert any(m["role"] == "tool" for m in requests[-1].body["messages"])
    assert "sk-test" not in (tmp_path / "home").joinpath("forgeline.db").read_bytes().decode(
        "latin-1"
    )
