"""Drive the real `forgeline` command in a subprocess and inspect what it left behind."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import yaml

FORGELINE = str(Path(sys.executable).parent / "forgeline")
SECRETS = ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "FORGELINE_MODEL", "FORGELINE_DATABASE_URL")


def cli_env(home: Path, database_url: str | None = None, **extra: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if k not in SECRETS and not k.startswith("FORGELINE_")
    }
    env["FORGELINE_HOME"] = str(home)
    env["COLUMNS"] = "250"
    if database_url:
        env["FORGELINE_DATABASE_URL"] = database_url
    env.update(extra)
    return env


def forgeline(
    *args: str, env: dict[str, str], timeout: float = 240, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [FORGELINE, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        input=stdin if stdin is not None else "",
    )


def summary(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert proc.stdout.strip(), f"no JSON on stdout; stderr:\n{proc.stderr[-3000:]}"
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


def git(repo: Path, *args: str) -> str:
    out = subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True)
    return out.stdout


def make_repo(path: Path, files: dict[str, str]) -> Path:
    path.mkdir(parents=True)
    for name, text in files.items():
        target = path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    git(path, "init", "-q", "-b", "main")
    git(path, "add", "-A")
    git(path, "-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-qm", "initial")
    return path


def write_script(path: Path, agents: dict[str, list[dict[str, Any]]], **options: Any) -> Path:
    path.write_text(yaml.safe_dump({"agents": agents, **options}))
    return path


EVENTS_SQL = "select project_id, seq, type, data, dedup_key from events order by project_id, seq"


def read_events(env: dict[str, str]) -> list[dict[str, Any]]:
    """Every stored event, from whichever database the CLI used."""
    url = env.get("FORGELINE_DATABASE_URL")
    if url:
        with psycopg.connect(url) as db:
            rows = [(p, s, t, d, k) for p, s, t, d, k in db.execute(EVENTS_SQL.encode())]
    else:
        with sqlite3.connect(Path(env["FORGELINE_HOME"]) / "forgeline.db") as db:
            rows = [(p, s, t, json.loads(d), k) for p, s, t, d, k in db.execute(EVENTS_SQL)]
    return [
        {"project_id": p, "seq": s, "type": t, "data": d, "dedup_key": k} for p, s, t, d, k in rows
    ]


def has_event(env: dict[str, str], type_: str) -> bool:
    try:
        return any(e["type"] == type_ for e in read_events(env))
    except (sqlite3.OperationalError, psycopg.Error):
        return False


def assert_gap_free(events: list[dict[str, Any]]) -> None:
    by_project: dict[str, list[int]] = {}
    for e in events:
        by_project.setdefault(e["project_id"], []).append(e["seq"])
    for seqs in by_project.values():
        assert seqs == list(range(1, len(seqs) + 1)), seqs
    keys = [e["dedup_key"] for e in events if e["dedup_key"]]
    assert len(keys) == len(set(keys))
