"""Whether a repository has tests, judged from its files at a commit (DESIGN §12).

A test overwatcher that approves without running a command in a repository with tests
earns a blocker; this module says which repositories have tests, and why we think so.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from pathlib import PurePosixPath

from forgeline.workspace import git
from forgeline.workspace.git_errors import GitError
from forgeline.workspace.repo import GitRepo

ReadFile = Callable[[str], Awaitable[str | None]]

_TEST_DIRS = frozenset({"tests", "test", "__tests__", "spec"})
_TEST_FILES = re.compile(
    r"^(test_.+\.py|.+_test\.(py|go|rs)|.+\.(test|spec)\.(js|jsx|ts|tsx|mjs|cjs))$"
)
_CONFIG_FILES = ("tox.ini", "noxfile.py", "pytest.ini", "conftest.py")
_SKIPPED = frozenset({"node_modules", ".venv", "venv", "vendor", "third_party"})
_NPM_DEFAULT_TEST = "no test specified"


def _test_path(path: str) -> str | None:
    parts = PurePosixPath(path).parts
    if any(part in _SKIPPED for part in parts):
        return None
    for i, part in enumerate(parts[:-1]):
        if part in _TEST_DIRS:
            return "/".join(parts[: i + 1]) + "/"
    return path if _TEST_FILES.match(parts[-1]) else None


def _npm_test(text: str) -> bool:
    try:
        scripts = json.loads(text).get("scripts") or {}
    except (ValueError, AttributeError):
        return False
    test = scripts.get("test") if isinstance(scripts, dict) else None
    return isinstance(test, str) and bool(test.strip()) and _NPM_DEFAULT_TEST not in test


async def _config_reason(files: set[str], read: ReadFile) -> str | None:
    for name in _CONFIG_FILES:
        if name in files:
            return name
    checks: tuple[tuple[str, Callable[[str], bool], str], ...] = (
        ("pyproject.toml", lambda t: "[tool.pytest" in t, "[tool.pytest] in pyproject.toml"),
        ("setup.cfg", lambda t: "[tool:pytest]" in t, "[tool:pytest] in setup.cfg"),
        ("package.json", _npm_test, 'a "test" script in package.json'),
        ("Makefile", lambda t: re.search(r"^test\s*:", t, re.M) is not None, "make test"),
    )
    for name, check, reason in checks:
        if name in files:
            text = await read(name)
            if text is not None and check(text):
                return reason
    return None


async def tests_reason(files: list[str], read: ReadFile) -> str | None:
    """Why the repository has tests (e.g. `tests/`, `tox.ini`), or None when it has none."""
    for path in files:
        found = _test_path(path)
        if found:
            return found
    return await _config_reason(set(files), read)


async def repository_tests(repo: GitRepo, sha: str) -> str | None:
    """`tests_reason` for a clone at commit `sha`, read from git (no work tree needed)."""
    listing = await git.run("ls-tree", "-r", "-z", "--name-only", sha, repo=repo)
    files = [f for f in listing.stdout.split("\0") if f]

    async def read(name: str) -> str | None:
        try:
            shown = await git.run("show", f"{sha}:{name}", repo=repo)
        except GitError:
            return None
        return shown.stdout[:200_000]

    return await tests_reason(files, read)
