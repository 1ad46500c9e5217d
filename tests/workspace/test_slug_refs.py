"""Slugs, feature branch names, and ref checks."""

from __future__ import annotations

import pytest

from forgeline.domain.errors import UserError
from forgeline.workspace.refs import check_branch_name, check_revision
from forgeline.workspace.slug import branch_name, is_slug, slugify


@pytest.mark.parametrize(
    ("request_text", "slug"),
    [
        ("Add a login page", "add-a-login-page"),
        ("  --Fix: the   BUG #42!!  ", "fix-the-bug-42"),
        ("Café crème brûlée support", "cafe-creme-brulee-support"),
        ("", "change"),
        ("!!! ??? ...", "change"),
        ("日本語のみ", "change"),
        ("x" * 100, "x" * 40),
    ],
)
def test_slugify(request_text: str, slug: str) -> None:
    assert slugify(request_text) == slug


def test_long_slug_is_cut_at_a_word_boundary() -> None:
    slug = slugify("Implement the user authentication flow with OAuth providers and refresh tokens")
    assert slug == "implement-the-user-authentication-flow"
    assert len(slug) <= 40


@pytest.mark.parametrize(
    "text",
    [
        "a" * 39 + " b",
        "Refactor ---- everything ---- in the codebase right now please",
        "-" * 50 + "z",
        "Ünïcödé " * 20,
    ],
)
def test_slug_rules_hold(text: str) -> None:
    slug = slugify(text)
    assert 0 < len(slug) <= 40
    assert is_slug(slug)
    assert not slug.startswith("-")
    assert not slug.endswith("-")
    assert "--" not in slug


def test_branch_name() -> None:
    assert branch_name("add-login") == "forgeline/add-login"
    assert branch_name("add-login-2") == "forgeline/add-login-2"
    with pytest.raises(UserError):
        branch_name("-bad")
    with pytest.raises(UserError):
        branch_name("Bad Slug")


@pytest.mark.parametrize("name", ["main", "feature/x", "release-1.2", "forgeline/add-login"])
def test_valid_branch_names(name: str) -> None:
    assert check_branch_name(name) == name


@pytest.mark.parametrize(
    "name",
    ["", "-x", "--upload-pack=sh", "a..b", "a b", "a~1", "a^", "a:b", "x.lock", ".hidden",
     "a/", "/a", "a//b", "@", "a@{1}", "a\\b", "a*", "dot.", "ok/.bad"],
)  # fmt: skip
def test_invalid_branch_names(name: str) -> None:
    with pytest.raises(UserError, match="invalid branch name"):
        check_branch_name(name)


def test_check_revision() -> None:
    assert check_revision("HEAD~2") == "HEAD~2"
    assert check_revision("origin/main") == "origin/main"
    for bad in ("", "-p", "--output=/tmp/x", "a\nb", "a b"):
        with pytest.raises(UserError):
            check_revision(bad)
