"""A pull request's title and body (DESIGN §13): the plan's summary, the gate's verdicts, the
evidence of §12 (each test command and its exit code, or "tests not run") and links to the
sibling pull requests of a multi-repository project."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

TITLE_MAX = 120
SUMMARY_MAX = 3_000
MARKER = "<!-- forgeline -->"


@dataclass(frozen=True)
class Sibling:
    """Another pull request of the same project."""

    repo: str
    number: int
    url: str


@dataclass(frozen=True)
class BodyInput:
    """What a pull request's body is made of."""

    project_id: str
    plan: str
    gate: Mapping[str, Any] | None
    siblings: Sequence[Sibling] = ()
    extra: str = ""


def pull_title(feature_request: str) -> str:
    """The feature request's first line, cut to fit a title."""
    line = next((ln.strip() for ln in feature_request.splitlines() if ln.strip()), "Forgeline")
    return line if len(line) <= TITLE_MAX else line[: TITLE_MAX - 3].rstrip() + "..."


def plan_summary(planning_md: str) -> str:
    """The plan's opening: its text up to the second heading, without the title line."""
    lines = planning_md.strip().splitlines()
    if lines and lines[0].startswith("# "):
        lines = lines[1:]
    kept: list[str] = []
    headings = 0
    for line in lines:
        if re.match(r"^#{1,6} ", line):
            headings += 1
            if headings > 1 and any(k.strip() for k in kept):
                break
        kept.append(line)
    text = "\n".join(kept).strip()
    if len(text) > SUMMARY_MAX:
        text = text[:SUMMARY_MAX].rstrip() + "\n\n[... the rest is in planning.md ...]"
    return text or "(no plan: planning was skipped)"


def pull_body(data: BodyInput) -> str:
    """The whole body, in Markdown."""
    parts = [
        MARKER,
        "## Summary\n\n" + (data.plan or "(no plan: planning was skipped)"),
        "## Final gate\n\n" + _gate(data.gate),
        "## Evidence\n\n" + _evidence(data.gate),
    ]
    if data.siblings:
        links = "\n".join(f"- {s.repo}#{s.number}: {s.url}" for s in data.siblings)
        parts.append("## Related pull requests\n\n" + links)
    if data.extra:
        parts.append(data.extra)
    parts.append(f"---\nOpened by Forgeline for project `{data.project_id}`.")
    return "\n\n".join(parts) + "\n"


def _gate(gate: Mapping[str, Any] | None) -> str:
    if not gate:
        return "The gate did not run."
    verdicts = ", ".join(f"{k}: **{v}**" for k, v in (gate.get("verdicts") or {}).items())
    state = "passed" if gate.get("passed") else "did not pass"
    rounds = gate.get("rounds") or gate.get("round") or 0
    lines = [f"The final gate {state} after {rounds} round(s). {verdicts}".rstrip()]
    for blocker in (gate.get("blockers") or [])[:10]:
        lines.append(f"- blocker ({blocker.get('agent')}): {_one_line(blocker.get('message'))}")
    return "\n".join(lines)


def _evidence(gate: Mapping[str, Any] | None) -> str:
    commands = list((gate or {}).get("test_commands") or [])
    if not commands:
        return "Tests not run: no test command was recorded."
    rows = [f"- `{_one_line(c.get('command'))}` → exit {c.get('exit_code')}" for c in commands]
    return "Test commands the test overwatcher ran, with their exit codes:\n\n" + "\n".join(rows)


def _one_line(value: object) -> str:
    text = " ".join(str(value or "").split())
    return text.replace("`", "'")[:300]
