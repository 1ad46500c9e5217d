"""`forgeline demo` end to end: every phase, real tools, real sandbox, real git."""

from __future__ import annotations

from pathlib import Path

from .helpers import assert_gap_free, cli_env, forgeline, git, read_events, summary


def test_demo_runs_every_phase_and_pushes(tmp_path: Path, database_url: str | None) -> None:
    env = cli_env(tmp_path / "home", database_url)
    proc = forgeline("demo", "--json", env=env)
    assert proc.returncode == 0, proc.stderr[-4000:]
    result = summary(proc)
    assert result["status"] == "completed"
    assert "scripted model" in proc.stderr
    assert "↑ pagekit: pushed forgeline/" in proc.stderr
    ws = Path(result["workspace"])
    assert (ws / "research.md").read_text().startswith("# Research")
    assert "Empty input keeps returning" in (ws / "planning.md").read_text()
    repo = ws / "pagekit"
    subjects = git(repo, "log", "--format=%s", "main..HEAD").splitlines()
    assert subjects == [
        "Record the fix in the changelog",
        "Add a regression test for the partial last page",
        "Fix paginate() dropping the last partial page",
    ]
    assert "range(0, len(items), page_size)" in (repo / "pagekit" / "pager.py").read_text()
    assert "### Fixed" in (repo / "CHANGELOG.md").read_text()
    gate = result["gate"]
    assert gate["passed"] and gate["round"] == 2
    assert [c["exit_code"] for c in gate["test_commands"]] == [0]
    # The branch reached the origin (the sample repository).
    origin = Path(git(repo, "remote", "get-url", "origin").strip())
    assert (
        git(origin, "rev-parse", result["branch"]).strip() == git(repo, "rev-parse", "HEAD").strip()
    )
    events = read_events(env)
    assert_gap_free(events)
    types = [e["type"] for e in events]
    for expected in (
        "phase_started",
        "question_asked",
        "question_answered",
        "finding",
        "commit",
        "gate",
        "push",
    ):
        assert expected in types
    # The answers reached the planner, and the review blocker reached the implementer.
    results = [e["data"] for e in events if e["type"] == "tool_result"]
    asked = [r for r in results if r["name"] == "AskUser"]
    assert "An empty list (keep today's behaviour)" in asked[0]["content"]
    gates = [e["data"] for e in events if e["type"] == "gate"]
    assert [g["passed"] for g in gates] == [False, True]
    assert "regression test" in gates[0]["blockers"][0]["message"]
    logs = list((ws / ".forgeline" / "logs").glob("*.jsonl"))
    assert logs and (ws / ".forgeline" / "session.json").is_file()
