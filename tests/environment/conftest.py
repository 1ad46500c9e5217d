"""Real projects nobody here wrote, put under git at test time: two PyPI sdists and an npm package.

- `exceptiongroup` 1.3.0: pure Python; a runtime dependency (`typing-extensions`), its tests
  need `pytest` (its `test` extra), and its build (flit_scm) generates `_version.py`, which
  the upstream repository git-ignores.
- `markupsafe` 3.0.2: a C extension (`_speedups`) built at setup; its test requirements live
  in `requirements/tests.txt`, so it needs a `--setup` command.
- `concat-map` 0.0.1 (npm): `npm install` brings `tape`, whose bin runs its tests.

The downloads happen once per session; pip and npm caches are shared by every test.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from e2e.helpers import git

SDISTS = {"exceptiongroup": "1.3.0", "markupsafe": "3.0.2"}
NPM = ("concat-map", "0.0.1")


@pytest.fixture(scope="session")
def downloads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The two sdists and the npm tarball, downloaded once."""
    target = tmp_path_factory.mktemp("downloads")
    specs = [f"{name}=={version}" for name, version in SDISTS.items()]
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary",
         ",".join(SDISTS), "-d", str(target), *specs],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    subprocess.run(
        ["npm", "pack", "--silent", f"{NPM[0]}@{NPM[1]}"],
        cwd=target, check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    return target


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`FORGELINE_CACHE_DIR` for every test: pip and npm download each package once."""
    return tmp_path_factory.mktemp("forgeline-cache")


def _extract(archive: Path, target: Path) -> Path:
    with tarfile.open(archive) as tar:
        tar.extractall(target.parent / f"{target.name}-unpacked", filter="data")
    unpacked = target.parent / f"{target.name}-unpacked"
    (top,) = list(unpacked.iterdir())
    shutil.move(top, target)
    unpacked.rmdir()
    return target


def _commit(path: Path) -> Path:
    git(path, "init", "-q", "-b", "main")
    git(path, "add", "-A")
    git(path, "-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-qm", "sdist")
    return path


def exceptiongroup_repo(downloads: Path, target: Path) -> Path:
    """The sdist as its upstream repository has it: `_version.py` generated and ignored."""
    path = _extract(downloads / "exceptiongroup-1.3.0.tar.gz", target)
    (path / "PKG-INFO").unlink()
    (path / "src/exceptiongroup/_version.py").unlink()
    (path / ".gitignore").write_text("/src/exceptiongroup/_version.py\n__pycache__/\n")
    return _commit(path)


def markupsafe_repo(downloads: Path, target: Path) -> Path:
    """The sdist without what its upstream repository does not track (PKG-INFO, egg-info)."""
    path = _extract(downloads / "markupsafe-3.0.2.tar.gz", target)
    (path / "PKG-INFO").unlink()
    shutil.rmtree(path / "src/MarkupSafe.egg-info")
    return _commit(path)


def concat_map_repo(downloads: Path, target: Path) -> Path:
    return _commit(_extract(downloads / "concat-map-0.0.1.tgz", target))
