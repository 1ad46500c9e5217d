"""Slugs of feature requests and the feature branch named after them (DESIGN §1)."""

from __future__ import annotations

import re
import unicodedata

from forgeline.domain.errors import UserError

MAX_SLUG_LENGTH = 40
BRANCH_PREFIX = "forgeline/"
FALLBACK_SLUG = "change"

_NON_SLUG = re.compile(r"[^a-z0-9]+")
_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")
# Cutting at a word boundary is preferred unless it would lose more than this many chars.
_MAX_WORD_CUT_LOSS = 15


def slugify(feature_request: str) -> str:
    """Make the slug of a feature request.

    Lowercase ASCII letters, digits and single dashes, at most 40 characters, cut at a
    word boundary when one is near, with no leading or trailing dash.

    Args:
        feature_request: The user's request, any text.

    Returns:
        The slug; `change` when the request has no usable characters.
    """
    ascii_text = (
        unicodedata.normalize("NFKD", feature_request).encode("ascii", "ignore").decode("ascii")
    )
    slug = _NON_SLUG.sub("-", ascii_text.lower()).strip("-")
    return _truncate(slug) or FALLBACK_SLUG


def _truncate(slug: str) -> str:
    """Cut a slug to the maximum length, at a dash when one is near the end."""
    if len(slug) <= MAX_SLUG_LENGTH:
        return slug
    head = slug[: MAX_SLUG_LENGTH + 1]
    cut = head.rfind("-")
    if cut < MAX_SLUG_LENGTH - _MAX_WORD_CUT_LOSS:
        cut = MAX_SLUG_LENGTH
    return head[:cut].strip("-")


def is_slug(value: str) -> bool:
    """Whether a string is a valid slug (the form `slugify` produces).

    Args:
        value: The candidate.

    Returns:
        True for 1 to 40 characters of `[a-z0-9-]` without leading or trailing dash.
    """
    return bool(_SLUG.match(value))


def branch_name(slug: str) -> str:
    """The feature branch of a slug: `forgeline/<slug>`.

    Args:
        slug: A slug as made by `slugify` (optionally followed by a `-N` clash suffix).

    Returns:
        The branch name.

    Raises:
        UserError: The slug is not of the `[a-z0-9-]` form.
    """
    if not re.match(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$", slug) or len(slug) > 64:
        raise UserError(f"invalid slug for a branch name: {slug!r}")
    return f"{BRANCH_PREFIX}{slug}"
