"""Workspaces on disk: creation, files, push, deletion (DESIGN §2)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from forgeline.domain.errors import ConflictError, NotFoundError, UserError
from forgeline.workspace import (
    GitError,
    RepoSpec,
    Workspace,
    append_log,
    create_workspace,
    delete_workspace,
    git,
    open_workspace,
    push_branch,
    read_log,
    read_metadata,
    read_session,
    write_session,
)

from .conftest import MakeRepo, commit_file, sh_git

CREATED = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


async def test_create_workspace_layout_and_metadata(
    home: Path, make_repo: MakeRepo, bare_origin: Path
) -> None:
    local = make_repo("service", branches={"develop": {"dev.txt": "d\n"}})
    ws = await create_workspace(
        home=home,
        project_id="proj-1",
        feature_request="Add a login page!",
        repositories=[
            RepoSpec(url=str(local), branch="develop"),
            RepoSpec(url=f"file://{bare_origin}"),
        ],
        created_at=CREATED,
    )
    assert ws.root == home / "workspaces" / "proj-1"
    assert ws.research_md == ws.root / "research.md"
    assert ws.planning_md == ws.root / "planning.md"
    assert ws.metadata_path == ws.root / ".forgeline" / "metadata.json"
    assert ws.session_path == ws.root / ".forgeline" / "session.json"
    assert ws.log_path("t1") == ws.root / ".forgeline" / "logs" / "t1.jsonl"
    assert ws.worktree_path("review") == ws.root / ".forgeline" / "worktrees" / "review"
    assert ws.logs_dir.is_dir()
    assert sorted(p.name for p in ws.root.iterdir()) == [".forgeline", "app", "service"]

    raw = json.loads(ws.metadata_path.read_text())
    assert raw["project_id"] == "proj-1"
    assert raw["feature_request"] == "Add a login page!"
    assert raw["created_at"].startswith("2026-01-02T03:04:05")
    service, app = raw["repositories"]
    assert service == {
        "url": str(local.resolve()),
        "name": "service",
        "base_branch": "develop",
        "branch": "forgeline/add-a-login-page",
        "base_sha": sh_git(local, "rev-parse", "develop").strip(),
    }
    assert (app["name"], app["base_branch"], app["url"]) == ("app", "main", f"file://{bare_origin}")
    for entry in (service, app):
        clone = ws.repo(entry["name"])
        assert await git.current_branch(clone) == "forgeline/add-a-login-page"
        assert await git.head_sha(clone) == entry["base_sha"]
        assert clone.git_dir == ws.root / ".forgeline" / "git" / entry["name"]
        assert (
            clone.work_tree / ".git"
        ).read_text() == f"gitdir: ../.forgeline/git/{entry['name']}\n"
    assert (ws.repo_path("service") / "dev.txt").exists()

    meta = read_metadata(ws)
    assert meta.slug == "add-a-login-page"
    assert meta.created_at == CREATED
    assert meta.repository("app").branch == "forgeline/add-a-login-page"
    assert read_session(ws) == {"project_id": "proj-1", "phase": None, "tasks": {}}
    assert open_workspace(home, "proj-1") == ws


async def test_repository_name_clashes_get_suffixes(
    home: Path, make_repo: MakeRepo, tmp_path: Path
) -> None:
    repos = [make_repo("lib", parent=tmp_path / f"org{i}") for i in range(3)]
    ws = await create_workspace(
        home=home,
        project_id="clash",
        feature_request="x",
        repositories=[RepoSpec(url=str(r)) for r in repos],
    )
    names = [r.name for r in read_metadata(ws).repositories]
    assert names == ["lib", "lib-2", "lib-3"]
    assert all(ws.repo_path(n).is_dir() for n in names)


async def test_reserved_names_are_never_used_for_clones(home: Path, make_repo: MakeRepo) -> None:
    repo = make_repo("research.md")
    ws = await create_workspace(
        home=home, project_id="p", feature_request="x", repositories=[RepoSpec(url=str(repo))]
    )
    assert read_metadata(ws).repositories[0].name == "research.md-2"


async def test_feature_branch_taken_on_origin_gets_suffix(home: Path, make_repo: MakeRepo) -> None:
    repo = make_repo("svc", branches={"forgeline/fix-it": {"old.txt": "old\n"}})
    ws = await create_workspace(
        home=home, project_id="p", feature_request="Fix it", repositories=[RepoSpec(url=str(repo))]
    )
    assert read_metadata(ws).repositories[0].branch == "forgeline/fix-it-2"
    assert await git.current_branch(ws.repo("svc")) == "forgeline/fix-it-2"


async def test_missing_branch_removes_everything(home: Path, make_repo: MakeRepo) -> None:
    good = make_repo("good")
    other = make_repo("other")
    with pytest.raises(UserError) as info:
        await create_workspace(
            home=home,
            project_id="p",
            feature_request="x",
            repositories=[RepoSpec(url=str(good)), RepoSpec(url=str(other), branch="nope")],
        )
    assert isinstance(info.value, GitError)
    assert str(info.value) == f"branch 'nope' not found in {other.resolve()}"
    assert not (home / "workspaces" / "p").exists()
    assert list((home / "workspaces").iterdir()) == []


async def test_bad_urls_create_nothing(home: Path, make_repo: MakeRepo, tmp_path: Path) -> None:
    good = make_repo("good")
    for bad, message in (
        (str(tmp_path / "missing"), "no such repository"),
        ("ext::sh -c touch% /tmp/x", "whitespace"),
        ("ext::sh", "transport"),
        ("fd::3", "transport"),
        ("-x", "must not start with '-'"),
    ):
        with pytest.raises(UserError, match=message):
            await create_workspace(
                home=home,
                project_id="p",
                feature_request="x",
                repositories=[RepoSpec(url=str(good)), RepoSpec(url=bad)],
            )
        assert not (home / "workspaces").exists()


async def test_empty_repository_is_a_clear_error(home: Path, tmp_path: Path) -> None:
    sh_git(tmp_path, "init", "-q", "-b", "main", "empty")
    with pytest.raises(UserError, match="repository has no commits"):
        await create_workspace(
            home=home,
            project_id="p",
            feature_request="x",
            repositories=[RepoSpec(url=str(tmp_path / "empty"))],
        )
    assert list((home / "workspaces").iterdir()) == []


async def test_invalid_ids_inputs_and_duplicates(home: Path, make_repo: MakeRepo) -> None:
    repo = make_repo("r")
    for bad_id in ("", "../escape", "a/b", ".", "..", "x" * 65, "sp ace", "dot.ted"):
        with pytest.raises(UserError, match="invalid project id"):
            await create_workspace(
                home=home,
                project_id=bad_id,
                feature_request="x",
                repositories=[RepoSpec(url=str(repo))],
            )
    with pytest.raises(UserError, match="at least one repository"):
        await create_workspace(home=home, project_id="p", feature_request="x", repositories=[])
    with pytest.raises(UserError, match="invalid branch name"):
        await create_workspace(
            home=home, project_id="p", feature_request="x",
            repositories=[RepoSpec(url=str(repo), branch="--orphan")],
        )  # fmt: skip
    await create_workspace(
        home=home, project_id="p", feature_request="x", repositories=[RepoSpec(url=str(repo))]
    )
    with pytest.raises(ConflictError, match="already exists"):
        await create_workspace(
            home=home, project_id="p", feature_request="x", repositories=[RepoSpec(url=str(repo))]
        )
    assert (home / "workspaces" / "p" / "r").is_dir()


async def test_session_is_written_atomically(home: Path, make_repo: MakeRepo) -> None:
    ws = await create_workspace(
        home=home,
        project_id="p",
        feature_request="x",
        repositories=[RepoSpec(url=str(make_repo()))],
    )
    write_session(ws, {"phase": "research", "tasks": {"t1": "running"}, "at": CREATED})
    assert read_session(ws) == {
        "phase": "research",
        "tasks": {"t1": "running"},
        "at": "2026-01-02T03:04:05+00:00",
    }
    assert sorted(p.name for p in ws.meta_dir.iterdir()) == [
        "git",
        "logs",
        "metadata.json",
        "session.json",
    ]
    ws.session_path.write_text("[1, 2]")
    with pytest.raises(UserError, match="not a JSON object"):
        read_session(ws)
    ws.session_path.unlink()
    assert read_session(ws) == {}


async def test_append_log_writes_one_line_per_record(home: Path, make_repo: MakeRepo) -> None:
    ws = await create_workspace(
        home=home,
        project_id="p",
        feature_request="x",
        repositories=[RepoSpec(url=str(make_repo()))],
    )
    append_log(ws, "task-1", {"kind": "model_turn", "text": "line one\nline two"})
    append_log(ws, "task-1", {"kind": "tool_call", "name": "Read", "path": Path("/x")})
    lines = ws.log_path("task-1").read_text().splitlines()
    assert len(lines) == 2
    records = [json.loads(line) for line in lines]
    assert records[0]["text"] == "line one\nline two"
    assert records[1]["path"] == "/x"
    assert all(datetime.fromisoformat(r["ts"]).tzinfo is not None for r in records)
    assert read_log(ws, "task-1") == records
    assert read_log(ws, "other") == []
    for bad in ("../x", "a/b", ".hidden", ""):
        with pytest.raises(UserError, match="invalid task id"):
            append_log(ws, bad, {})


async def test_push_branch_to_bare_origin(home: Path, bare_origin: Path) -> None:
    ws = await create_workspace(
        home=home,
        project_id="p",
        feature_request="Ship it",
        repositories=[RepoSpec(url=str(bare_origin))],
    )
    clone = ws.repo_path("app")
    (clone / "feature.py").write_text("FEATURE = True\n")
    sha = await git.commit_all(
        ws.repo("app"), "Add feature", author_name="Forgeline", author_email="f@l"
    )
    message = await push_branch(ws, "app")
    assert message is not None and "forgeline/ship-it" in message
    log = sh_git(bare_origin, "log", "--format=%H %s", "forgeline/ship-it")
    assert log.splitlines()[0] == f"{sha} Add feature"


async def test_push_branch_without_origin_returns_none(home: Path, make_repo: MakeRepo) -> None:
    ws = await create_workspace(
        home=home,
        project_id="p",
        feature_request="x",
        repositories=[RepoSpec(url=str(make_repo()))],
    )
    sh_git(ws.repo_path("src-repo"), "remote", "remove", "origin")
    assert await push_branch(ws, read_metadata(ws).repositories[0]) is None


async def test_push_to_non_bare_origin(home: Path, make_repo: MakeRepo) -> None:
    source = make_repo("svc")
    ws = await create_workspace(
        home=home, project_id="p", feature_request="Do it", repositories=[RepoSpec(url=str(source))]
    )
    clone = ws.repo_path("svc")
    commit_file(clone, "x.txt", "x\n", "x")
    assert await push_branch(ws, "svc") is not None
    assert sh_git(source, "log", "-1", "--format=%s", "forgeline/do-it").strip() == "x"

    sh_git(source, "switch", "-q", "forgeline/do-it")
    commit_file(clone, "y.txt", "y\n", "y")
    with pytest.raises(GitError) as info:
        await push_branch(ws, "svc")
    assert str(info.value).startswith(f"cannot push forgeline/do-it to {source.resolve()}: ")
    assert "checked out in the non-bare origin" in str(info.value)


async def test_rejected_push_is_explained(home: Path, bare_origin: Path, tmp_path: Path) -> None:
    ws = await create_workspace(
        home=home,
        project_id="p",
        feature_request="Race",
        repositories=[RepoSpec(url=str(bare_origin))],
    )
    clone = ws.repo_path("app")
    commit_file(clone, "mine.txt", "m\n", "mine")
    other = tmp_path / "other"
    sh_git(tmp_path, "clone", "-q", str(bare_origin), str(other))
    sh_git(other, "switch", "-q", "-c", "forgeline/race")
    commit_file(other, "theirs.txt", "t\n", "theirs")
    sh_git(other, "push", "-q", "origin", "forgeline/race")
    with pytest.raises(GitError, match="was rejected: the remote branch has commits"):
        await push_branch(ws, "app")


async def test_delete_workspace_removes_only_its_directory(
    home: Path, make_repo: MakeRepo, tmp_path: Path
) -> None:
    repo = make_repo("r")
    specs = [RepoSpec(url=str(repo))]
    ws = await create_workspace(home=home, project_id="a", feature_request="x", repositories=specs)
    sibling = await create_workspace(
        home=home, project_id="ab", feature_request="x", repositories=specs
    )
    locked = ws.repo_path("r") / "locked"
    locked.mkdir()
    (locked / "f").write_text("f")
    locked.chmod(0o500)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("keep")
    (ws.root / "link-out").symlink_to(outside)

    assert delete_workspace(home, "a") == ws.root
    assert not ws.root.exists()
    assert (outside / "keep.txt").read_text() == "keep"
    assert read_metadata(sibling).project_id == "ab"
    assert repo.is_dir()
    with pytest.raises(NotFoundError):
        delete_workspace(home, "a")
    with pytest.raises(NotFoundError):
        open_workspace(home, "a")


@pytest.mark.parametrize("bad", ["..", "../..", "a/../b", "/etc", "x/y", "", "."])
def test_delete_refuses_path_like_ids(home: Path, bad: str) -> None:
    (home / "workspaces").mkdir(exist_ok=True)
    (home / "keep.txt").write_text("keep")
    with pytest.raises(UserError, match="invalid project id"):
        delete_workspace(home, bad)
    assert (home / "keep.txt").exists()
    assert (home / "workspaces").is_dir()


def test_delete_refuses_symlinked_workspace(home: Path, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.mkdir()
    (target / "precious.txt").write_text("precious")
    (home / "workspaces").mkdir()
    (home / "workspaces" / "evil").symlink_to(target)
    with pytest.raises(UserError, match="symlink"):
        delete_workspace(home, "evil")
    with pytest.raises(UserError, match="symlink"):
        open_workspace(home, "evil")
    assert (target / "precious.txt").read_text() == "precious"


def test_workspace_paths_refuse_escapes(home: Path) -> None:
    ws = Workspace(home=home, project_id="p")
    with pytest.raises(UserError):
        ws.worktree_path("../../x")
    with pytest.raises(UserError):
        ws.repo_path(".forgeline")
    with pytest.raises(UserError):
        ws.repo_path("research.md")
    with pytest.raises(UserError):
        Workspace(home=home, project_id="../p")
    assert ws.document_path("planning") == ws.planning_md
