"""Attack: one repository's setup poisons the package cache another repository's setup uses.

Setup writes the package caches (`PIP_CACHE_DIR`, `npm_config_cache`). pip installs a wheel
it finds in its wheel cache for an sdist without checking it against anything, so a shared
cache let a malicious repository's `.forgeline/setup.sh` plant a wheel that every other
project then installs into its environment (and its agents run). Through the public path:
two `forgeline run`s under one `FORGELINE_HOME`, the attacker's repository first; on the old
code the victim's setup found the planted wheel, now each repository origin has its own cache.
"""

from __future__ import annotations

from pathlib import Path

from e2e.helpers import cli_env, forgeline, make_repo, read_events, summary, write_script

WHEEL = '"$PIP_CACHE_DIR/wheels/ab/cd/x.whl"'
PLANT = f'mkdir -p "$PIP_CACHE_DIR/wheels/ab/cd" && echo evil > {WHEEL}\n'
LOOK = f"cat {WHEEL} 2>/dev/null || echo cache-clean\n"
WRITE = {"name": "Write", "input": {"file_path": "research.md", "content": "# Research\n"}}
TURNS = [{"tool_calls": [WRITE]}, {"text": "Done."}]


def _setup_output(tmp_path: Path, name: str, setup: str, env: dict[str, str]) -> str:
    repo = make_repo(tmp_path / name, {"README.md": f"# {name}\n", ".forgeline/setup.sh": setup})
    script = write_script(tmp_path / f"{name}.yaml", {"research": TURNS})
    args = ["run", "Look", "--repo", str(repo), "--phases", "research", "--json"]
    proc = forgeline(*args, "--model", f"scripted:{script}", env=env)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert summary(proc)["status"] == "completed"
    return "".join(
        str(e["data"].get("text", ""))
        for e in read_events(env)
        if e["type"] == "setup_output" and e["data"].get("repo") == name
    )


def test_a_repository_setup_cannot_plant_packages_for_another(tmp_path: Path) -> None:
    env = cli_env(tmp_path / "home")
    _setup_output(tmp_path, "attacker", PLANT + "echo planted\n", env)
    output = _setup_output(tmp_path, "victim", LOOK, env)
    assert "evil" not in output and "cache-clean" in output, output
