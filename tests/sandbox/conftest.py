"""Fixtures for the sandbox tests: real directories, real bubblewrap, real processes."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from forgeline.sandbox import run_command, sandbox_status
from forgeline.sandbox.spec import SandboxPolicy
from forgeline.sandbox.warm import WARM

from .procs import processes_with


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A workspace root with one repository directory, `repo/`."""
    root = (tmp_path / "ws").resolve()
    (root / "repo").mkdir(parents=True)
    (root / "repo" / "README.md").write_text("hello from the repo\n", encoding="utf-8")
    return root


def prewarmed(policy: SandboxPolicy) -> SandboxPolicy:
    """`policy`, with a sandbox parked for it (a first command ran), as in an agent run."""
    result = asyncio.run(run_command("true", policy, timeout_s=30))
    assert result.exit_code == 0, result.output
    return policy


@pytest.fixture
def policy(workspace: Path) -> SandboxPolicy:
    """The usual policy: only `repo/` writable, no network; its next command runs warm."""
    return prewarmed(SandboxPolicy(workspace=workspace, writable=(workspace / "repo",)))


@pytest.fixture(params=["warm", "cold"])
def both_starts(request: pytest.FixtureRequest, workspace: Path) -> Iterator[SandboxPolicy]:
    """The usual policy, its commands run in a parked sandbox, then (again) cold."""
    policy = SandboxPolicy(workspace=workspace, writable=(workspace / "repo",))
    if request.param == "cold":
        WARM.enabled = False
        try:
            yield policy
        finally:
            WARM.enabled = True
    else:
        yield prewarmed(policy)


@pytest.fixture
def marker() -> str:
    """A unique string to find a command's processes by their command line."""
    return f"fl{uuid.uuid4().hex[:16]}"


@pytest.fixture
def leftovers() -> Callable[[str], list[int]]:
    """`leftovers(marker)`: the processes still alive whose command line has `marker`."""
    return processes_with


@pytest.fixture
def fake_bwrap_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A PATH whose only `bwrap` fails like one without user namespaces does."""
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    fake = bin_dir / "bwrap"
    fake.write_text(
        "#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\nexit 1\n",
        encoding="utf-8",
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    sandbox_status.cache_clear()
    yield bin_dir
    sandbox_status.cache_clear()
