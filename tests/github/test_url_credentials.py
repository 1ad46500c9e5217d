"""Credentials inside a clone URL reach git only through the credential helper.

`forgeline run --repo http://user:SECRET@127.0.0.1:PORT/app.git` against a real `git http-backend`
that requires basic auth: the clone and the push authenticate, and the secret is nowhere a model,
an agent's `Bash` or a later reader could find it (workspace files, `.git/config`, the database,
events, logs, model requests).
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from e2e.helpers import cli_env, forgeline, git, make_repo, read_events, summary, write_script
from forgeline.testing.fake_replies import FakeToolCall, FakeTurn
from forgeline.testing.fakellm import FakeLLM
from forgeline.testing.git_http import GitHttpServer

SECRET = "s3cr3t-Tok3n-4f9a"
PROBE = (
    'env; echo ---; cat "$(git -C app rev-parse --absolute-git-dir)/config"; '
    "git -C app config --list --show-origin"
)


def bare_origin(tmp_path: Path) -> Path:
    seed = make_repo(tmp_path / "seed", {"README.md": "# app\n"})
    root = tmp_path / "served"
    root.mkdir()
    git(tmp_path, "clone", "-q", "--bare", str(seed), str(root / "app.git"))
    return root


def assert_nowhere_on_disk(*roots: Path) -> None:
    found = subprocess.run(
        ["grep", "-r", "-l", "-a", SECRET, *map(str, roots)], capture_output=True, text=True
    )
    assert found.returncode == 1, f"secret found in: {found.stdout}"


def secret_url(server: GitHttpServer) -> str:
    return server.url("app.git").replace("http://", f"http://robot:{SECRET}@")


def test_url_credentials_never_reach_disk_model_or_sandbox(tmp_path: Path) -> None:
    root = bare_origin(tmp_path)
    home = tmp_path / "home"
    research = "# Research\n\nThe app has a README.\n"
    with GitHttpServer(root, users={"robot": SECRET}) as server, FakeLLM() as fake:
        fake.enqueue(
            FakeTurn(tool_calls=[FakeToolCall(name="Bash", input={"command": PROBE})]),
            FakeTurn(
                tool_calls=[
                    FakeToolCall(
                        name="Write", input={"file_path": "research.md", "content": research}
                    )
                ]
            ),
            FakeTurn(text="research.md is written."),
        )
        env = cli_env(
            home,
            OPENAI_API_KEY="sk-test",
            OPENAI_BASE_URL=fake.openai_base_url,
            FORGELINE_SANDBOX="on",
        )
        proc = forgeline(
            "run", "Describe the app", "--repo", secret_url(server), "--model", "openai:gpt-4.1",
            "--phases", "research", "--json", env=env,
        )  # fmt: skip
        requests = fake.requests
        served = list(server.log.requests)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = summary(proc)
    assert any(user == "robot" for _, _, user in served), "the clone did not authenticate"
    bash_output = _tool_result(read_events(env), "Bash")
    assert f"url = {server.url('app.git')}" in bash_output  # the probe ran and saw the config
    for request in requests:
        assert SECRET not in repr(request.body) and SECRET not in repr(request.headers)
    assert SECRET not in proc.stdout + proc.stderr
    assert result["repositories"][0]["name"] == "app"
    assert_nowhere_on_disk(home)


READ = {"tool_calls": [{"name": "Read", "input": {"file_path": "app/README.md"}}]}
APPROVE: list[dict[str, Any]] = [
    {"tool_calls": [{"name": "Report", "input": {"verdict": "approve", "findings": []}}]},
    {"text": "ok"},
]


def test_push_authenticates_with_the_remembered_url_credentials(tmp_path: Path) -> None:
    root = bare_origin(tmp_path)
    home = tmp_path / "home"
    edit = {
        "text": "Describe the app",
        "tool_calls": [
            {
                "name": "Edit",
                "input": {
                    "file_path": "app/README.md",
                    "old_string": "# app\n",
                    "new_string": "# app\n\nA small app.\n",
                },
            }
        ],
    }
    agents: dict[str, list[dict[str, Any]]] = {
        "implementation": [READ, edit, {"text": "Done."}],
        "documentation": [{"text": "Nothing to document."}],
    }
    for overwatcher in ("review", "security", "test"):
        agents[overwatcher] = APPROVE * 2
    script = write_script(tmp_path / "script.yaml", agents)
    with GitHttpServer(root, users={"robot": SECRET}) as server:
        env = cli_env(home)
        proc = forgeline(
            "run", "Describe the app", "--repo", secret_url(server), "--model",
            f"scripted:{script}", "--phases", "implementation", "--json", env=env,
        )  # fmt: skip
        pushes = [path for method, path, _ in server.log.requests if "receive-pack" in path]
    assert proc.returncode == 0, proc.stderr[-3000:]
    branch = summary(proc)["repositories"][0]["branch"]
    assert pushes, "nothing was pushed over HTTP"
    assert "A small app." in git(root / "app.git", "show", f"{branch}:README.md")
    assert_nowhere_on_disk(home)


def _tool_result(events: list[dict[str, Any]], tool: str) -> str:
    texts = [str(e["data"]) for e in events if e["type"] == "tool_result"]
    assert texts, "no tool result was recorded"
    return "\n".join(texts)
