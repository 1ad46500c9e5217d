"""A two-repository project on the fake GitHub, end to end through `forgeline run`.

The GitHub App's installation tokens clone and push over HTTP (git http-backend behind the
fake, requiring `x-access-token`), two draft pull requests are opened and cross-linked, their
bodies carry the plan, the gate and the evidence, and no token is left anywhere on disk.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from e2e.helpers import cli_env, forgeline, make_repo, summary, write_script
from forgeline.testing.fake_github import FakeGitHub

from .scripts import PLAN, overwatchers, planning, two_repo_implementation


def two_repos(fake: FakeGitHub, tmp_path: Path) -> list[str]:
    urls = []
    for name in ("api", "web"):
        seed = make_repo(tmp_path / f"seed-{name}", {"README.md": f"# {name}\n"})
        urls.append(fake.add_repo("acme", name, seed))
    return urls


def run_args(script: Path, urls: list[str], *extra: str) -> list[str]:
    args = ["run", "Describe the services", "--model", f"scripted:{script}", "--json", *extra]
    for url in urls:
        args += ["--repo", url]
    return args


def assert_no_token_on_disk(fake: FakeGitHub, *roots: Path) -> None:
    assert fake.tokens, "the fake issued no installation token"
    for token in fake.tokens:
        found = subprocess.run(
            ["grep", "-r", "-l", "-a", token, *map(str, roots)], capture_output=True, text=True
        )
        assert found.returncode == 1, f"token found in {found.stdout}"


def test_two_repositories_get_cross_linked_draft_pull_requests(
    fake_github: FakeGitHub, app_env: dict[str, str], tmp_path: Path
) -> None:
    urls = two_repos(fake_github, tmp_path)
    agents: dict[str, Any] = {
        "planning": planning(),
        "implementation": two_repo_implementation(),
        "documentation": [{"text": "Nothing to document."}],
        **overwatchers(3),
    }
    script = write_script(tmp_path / "script.yaml", agents)
    env = cli_env(tmp_path / "home", **app_env)
    proc = forgeline(*run_args(script, urls, "--phases", "planning,implementation"), env=env)
    assert proc.returncode == 0, proc.stderr[-4000:]
    result = summary(proc)
    api, web = (fake_github.repos[f"acme/{n}"].pulls for n in ("api", "web"))
    assert len(api) == 1 and len(web) == 1
    for repo, pull, other in zip(
        result["repositories"], (api[0], web[0]), (web[0], api[0]), strict=True
    ):
        assert repo["pull_request"]["url"] == pull["html_url"]
        assert repo["pull_request"]["number"] == pull["number"] and repo["pull_request"]["draft"]
        assert pull["draft"] is True and pull["title"] == "Describe the services"
        assert pull["head"]["ref"] == repo["branch"] and pull["base"]["ref"] == "main"
        body = pull["body"]
        assert "Describe each service in its README." in body  # the plan's summary
        assert "review: **approve**" in body and "test: **approve**" in body
        assert "`cat */README.md` → exit 0" in body  # the evidence
        assert other["html_url"] in body  # the sibling link
    created = [r for r in fake_github.requests if r.method == "POST" and r.path.endswith("/pulls")]
    assert [r.body["draft"] for r in created] == [True, True]  # sent explicitly
    pushes = [p for m, p, u in fake_github.git_log.requests if p.endswith("git-receive-pack")]
    assert len(pushes) == 2 and {u for _, _, u in fake_github.git_log.requests} == {
        "x-access-token"
    }
    assert PLAN.splitlines()[0] not in api[0]["body"]  # the plan's title line is not repeated
    assert_no_token_on_disk(fake_github, tmp_path / "home")


def test_no_credentials_skips_the_pull_request_with_a_clear_message(
    fake_github: FakeGitHub, app_env: dict[str, str], tmp_path: Path
) -> None:
    seed = make_repo(tmp_path / "seed", {"README.md": "# api\n"})
    url = fake_github.add_repo("acme", "api", seed)
    agents: dict[str, Any] = {
        "implementation": [{"text": "Nothing to change."}],
        "documentation": [{"text": "Nothing to document."}],
        **overwatchers(1),
    }
    script = write_script(tmp_path / "script.yaml", agents)
    fake_github.static_tokens.add("ghp_pushonly")
    no_app = {k: v for k, v in app_env.items() if "APP" not in k and "KEY" not in k}
    home = tmp_path / "home"
    env = cli_env(home, **no_app, GITHUB_TOKEN="")
    # git can clone with credentials in the URL; the API has none.
    secret = url.replace("http://", "http://x-access-token:ghp_pushonly@")
    proc = forgeline(*run_args(script, [secret], "--phases", "implementation"), env=env)
    assert proc.returncode == 0, proc.stderr[-4000:]
    pull = summary(proc)["repositories"][0]["pull_request"]
    assert pull["status"] == "skipped" and "set GITHUB_TOKEN" in pull["detail"]
    assert fake_github.repos["acme/api"].pulls == []
    bogus = forgeline(*run_args(script, [secret], "--pr", "bogus"), env=env)
    assert bogus.returncode == 2 and "use draft, ready or off" in bogus.stdout + bogus.stderr


def test_a_refused_pull_request_fails_the_run_with_githubs_reason(
    fake_github: FakeGitHub, app_env: dict[str, str], tmp_path: Path
) -> None:
    seed = make_repo(tmp_path / "seed", {"README.md": "# api\n"})
    url = fake_github.add_repo("acme", "api", seed)
    agents: dict[str, Any] = {
        "implementation": [{"text": "Nothing to change."}],
        "documentation": [{"text": "Nothing to document."}],
        **overwatchers(1),
    }
    script = write_script(tmp_path / "script.yaml", agents)
    fake_github.fail("POST", r"/pulls$", 403, {"message": "Resource not accessible by integration"})
    env = cli_env(tmp_path / "home", **app_env)
    proc = forgeline(
        *run_args(script, [url], "--phases", "implementation", "--pr", "ready"), env=env
    )
    assert proc.returncode == 1, proc.stderr[-4000:]
    result = summary(proc)
    assert result["status"] == "failed"
    assert "403" in result["error"] and "Resource not accessible by integration" in result["error"]
    pull = result["repositories"][0]["pull_request"]
    assert pull["status"] == "failed" and "not accessible" in pull["detail"]
    assert "Traceback" not in proc.stderr
