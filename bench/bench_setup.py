"""Repository environments: setup cold vs warm, and the environment's cost per Bash command.

Cold: a first project's setup with empty caches (`pip`/`npm` download everything, the
virtualenv is built). Warm: a second project on the same repository and manifests with the
same `FORGELINE_HOME` (the environment is reused; goal: <= 0.2x cold). Cache only: a new
`FORGELINE_HOME` that shares only the package caches (what a pip/npm cache alone gives).
Per command: `Bash` `true` with and without the environment's binds, `PATH`, `VIRTUAL_ENV`
and, with two environments, `BASH_ENV` (goal: no measurable overhead).

Projects: `exceptiongroup` 1.3.0 (sdist from PyPI, detected Python setup) and `concat-map`
0.0.1 (npm, detected `npm install`), put under git in a temporary directory.

Usage: .venv/bin/python bench/bench_setup.py [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from benchkit import median, ms, table, write_section

from forgeline.environment.detect import resolve_setup
from forgeline.environment.manifests import manifests_digest
from forgeline.environment.records import EnvironmentRecord, EnvPaths
from forgeline.environment.runner import SetupRequest, run_setup
from forgeline.environment.view import CodeDir, build_view
from forgeline.sandbox.runner import run_command
from forgeline.sandbox.spec import SandboxPolicy
from forgeline.workspace.repo import GitRepo

PY = "/usr/bin/python3"
PROJECTS = ("exceptiongroup", "concat-map")


def _git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)
    return done.stdout


def download(target: Path) -> dict[str, Path]:
    """Both projects as git repositories (the sdist's generated `_version.py` ignored)."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "-q",
            "--no-deps",
            "--no-binary",
            "exceptiongroup",
            "-d",
            str(target),
            "exceptiongroup==1.3.0",
        ],
        check=True,
        capture_output=True,
    )
    subprocess.run(["npm", "pack", "--silent", "concat-map@0.0.1"], cwd=target, check=True)
    repos = {}
    for name, archive in (
        ("exceptiongroup", "exceptiongroup-1.3.0.tar.gz"),
        ("concat-map", "concat-map-0.0.1.tgz"),
    ):
        with tarfile.open(target / archive) as tar:
            tar.extractall(target / f"{name}-x", filter="data")
        (top,) = list((target / f"{name}-x").iterdir())
        repos[name] = shutil.move(top, target / name)
    eg = Path(repos["exceptiongroup"])
    (eg / "src/exceptiongroup/_version.py").unlink()
    (eg / ".gitignore").write_text("/src/exceptiongroup/_version.py\n")
    for path in repos.values():
        _git(Path(path), "init", "-q", "-b", "main")
        _git(Path(path), "add", "-A")
        _git(Path(path), "-c", "user.name=B", "-c", "user.email=b@x", "commit", "-qm", "sdist")
    return {k: Path(v) for k, v in repos.items()}


async def setup_all(
    seeds: dict[str, Path], project: Path, paths: EnvPaths
) -> dict[str, EnvironmentRecord]:
    """Clone every repository into `project/` and set each up, as the workflow does."""
    records = {}
    for name, seed in seeds.items():
        clone = project / name
        _git(project.parent, "clone", "-q", str(seed), str(clone))
        plan = await resolve_setup(GitRepo.standard(clone), base_sha=None, given=None, python=PY)
        assert plan is not None
        request = SetupRequest(
            name=name,
            git=GitRepo.standard(clone),
            plan=plan,
            digest=manifests_digest(clone, command="(detected)"),
            paths=paths,
            python=PY,
            sandbox_on=True,
            hidden=(paths.home, Path("/root")),
            timeout_s=900,
            environ=dict(os.environ),
        )
        record = await run_setup(request, on_output=lambda _chunk: None)
        assert record.ok, record.tail
        records[name] = record
    return records


async def per_command(
    project: Path, paths: EnvPaths, records: dict[str, EnvironmentRecord], n: int
) -> list[list[str]]:
    """Median `Bash` `true` (and `python -c pass`) with and without the environments."""
    dirs = [CodeDir(record=r, repo=project / k, code=project / k) for k, r in records.items()]
    one = build_view(paths, dirs[:1], sandbox_on=True)
    both = build_view(paths, dirs, sandbox_on=True, bash_env=project.parent / "bash_env.sh")
    base = SandboxPolicy(workspace=project, hidden=(paths.home, Path("/root")))
    policies = {"none": base, "1 env": one.apply(base), "2 envs (BASH_ENV)": both.apply(base)}
    rows = []
    for command in ("true", "cd exceptiongroup && python -c pass"):
        times: dict[str, list[float]] = {k: [] for k in policies}
        for _ in range(n):
            for label, policy in policies.items():  # interleaved: load hits all alike
                started = time.perf_counter()
                result = await run_command(command, policy, timeout_s=60)
                times[label].append(time.perf_counter() - started)
                assert result.exit_code == 0 or label == "none", result.output
        plain, fastest = median(times["none"]), min(times["none"])
        for label, values in times.items():
            ratio = f"{median(values) / plain:.2f}x / {min(values) / fastest:.2f}x"
            rows.append([f"`{command}`", label, ms(median(values)), ms(min(values)), ratio])
    return rows


def _per_repo(records: dict[str, EnvironmentRecord]) -> str:
    return ", ".join(
        f"{name} {r.seconds:g} s{' (reused)' if r.reused else ''}" for name, r in records.items()
    )


async def main(quick: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="forgeline-bench-setup-") as tmp:
        root = Path(tmp)
        seeds = download(root / "seeds")
        shared = EnvPaths(home=(root / "home").resolve(), cache=root / "cache")
        timings = []
        for label, paths in (
            ("cold (project 1, empty caches)", shared),
            ("warm (project 2, same FORGELINE_HOME)", shared),
            ("cache only (new FORGELINE_HOME, shared pip/npm cache)",
             EnvPaths(home=(root / "home2").resolve(), cache=root / "cache")),
        ):  # fmt: skip
            project = root / f"p{len(timings) + 1}"
            project.mkdir()
            started = time.perf_counter()
            records = await setup_all(seeds, project, paths)
            total = time.perf_counter() - started
            timings.append((label, total, records))
        cold = timings[0][1]
        rows = [
            [label, f"{total:.2f}", f"{total / cold:.3f}x", _per_repo(recs)]
            for label, total, recs in timings
        ]
        setup_table = table(["run", "seconds", "vs cold", "per repository"], rows)
        print(setup_table)
        overhead = await per_command(root / "p1", shared, timings[0][2], 10 if quick else 30)
        overhead_table = table(
            ["command", "environment", "median ms", "min ms", "vs none (median / min)"], overhead
        )
        print(overhead_table)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    warm_ratio = timings[1][1] / cold
    verdict = "met" if warm_ratio <= 0.2 else "NOT met"
    body = (
        "Projects: `exceptiongroup` 1.3.0 (PyPI sdist: detected virtualenv, editable install with "
        "the `test` extra: flit_scm build, pytest, typing-extensions) and `concat-map` 0.0.1 "
        "(npm: detected `npm install`, tape and 6 more packages), each put under git; "
        "`run_setup` in the real sandbox with the network on, exactly as the workflow runs it.\n\n"
        f"{setup_table}\n\nWarm / cold: **{warm_ratio:.3f}x** (goal <= 0.2x: {verdict}). A "
        "warm setup reuses the environment built at `$FORGELINE_HOME/envs/<key>/` and copies "
        "back only the files setup made in the repository; the cache-only row shows what a "
        "shared pip/npm cache alone gives.\n\n"
        f"Per `Bash` command ({10 if quick else 30} runs each, interleaved; the machine's other "
        "load makes single runs noisy, so both the median and the minimum are given):\n\n"
        f"{overhead_table}\n\nLoad average during the run: {load}. `python -c pass` with an "
        "environment runs the virtualenv's interpreter, whose start-up reads more `.pth` files "
        "(the project's editable install, its dependencies) than the bare system `python3`: "
        "that is the project's Python, not a per-command cost of the sandbox's additions "
        "(compare the `true` rows, whose differences are within the run-to-run noise).\n"
    )
    write_section("bench_setup", "Repository environments: setup cold vs warm (issue 9)", body)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 runs per command, not 30")
    asyncio.run(main(parser.parse_args().quick))
