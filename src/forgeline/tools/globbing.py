"""Glob patterns with `**` and `{a,b}`, compiled to a start directory and a regex.

`*` and `?` never cross a `/`; a `**` path segment matches any number of directories
(zero included); `[...]` is a character class (`[!...]` negated); `{a,b}` expands to
alternatives. The files themselves are listed by ripgrep (`ripgrep.list_files`), so the
`Glob` tool sees exactly what `Grep` searches: `.gitignore` respected, `.git` and
Forgeline's own files skipped, no symlink followed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_MAGIC = re.compile(r"[*?\[{]")


def expand_braces(pattern: str) -> list[str]:
    """Expand `{a,b}` alternatives (nested ones included) into plain patterns."""
    depth = 0
    start = -1
    for index, char in enumerate(pattern):
        if char == "{":
            if depth == 0:
                start = index
            depth += 1
        elif char == "}" and depth:
            depth -= 1
            if depth == 0:
                inner = pattern[start + 1 : index]
                options = _split_top_level(inner)
                if len(options) < 2:
                    continue
                head, tail = pattern[:start], pattern[index + 1 :]
                expanded: list[str] = []
                for option in options:
                    expanded.extend(expand_braces(head + option + tail))
                return expanded
    return [pattern]


def _split_top_level(text: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    current = ""
    for char in text:
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
            continue
        depth += (char == "{") - (char == "}")
        current += char
    parts.append(current)
    return parts


def _segment_regex(segment: str) -> str:
    out: list[str] = []
    index = 0
    while index < len(segment):
        char = segment[index]
        if char == "*":
            while index + 1 < len(segment) and segment[index + 1] == "*":
                index += 1
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[" and (end := segment.find("]", index + 2)) != -1:
            body = segment[index + 1 : end]
            negate = body.startswith("!")
            body = body[1:] if negate else body
            out.append("[" + ("^" if negate else "") + body.replace("\\", "\\\\") + "]")
            index = end
        else:
            out.append(re.escape(char))
        index += 1
    return "".join(out)


def _pattern_regex(segments: list[str]) -> str:
    out: list[str] = []
    for position, segment in enumerate(segments):
        last = position == len(segments) - 1
        if segment == "**":
            out.append(".*" if last else "(?:[^/]+/)*")
        else:
            out.append(_segment_regex(segment) + ("" if last else "/"))
    return "".join(out)


@dataclass(frozen=True)
class GlobMatcher:
    """A compiled glob: where to start walking, and what relative paths match.

    Attributes:
        prefix: Leading literal directories shared by every alternative (may be empty).
        regex: Matches a file's path relative to `prefix`.
        max_depth: Deepest directory level a match can be in, or None when unbounded.
    """

    prefix: tuple[str, ...]
    regex: re.Pattern[str]
    max_depth: int | None


def compile_glob(pattern: str) -> GlobMatcher:
    """Compile a relative glob pattern.

    Raises:
        ValueError: When the pattern is empty, absolute, or has a `..` segment.
    """
    if not pattern.strip():
        raise ValueError("the pattern is empty")
    alternatives = [
        [part for part in alt.split("/") if part not in ("", ".")] for alt in expand_braces(pattern)
    ]
    for segments in alternatives:
        if ".." in segments:
            raise ValueError("the pattern may not contain '..' segments; use `path` instead")
    prefix: list[str] = []
    while all(len(s) > len(prefix) + 1 for s in alternatives):
        candidates = {s[len(prefix)] for s in alternatives}
        if len(candidates) != 1 or _MAGIC.search(next(iter(candidates))):
            break
        prefix.append(candidates.pop())
    rests = [segments[len(prefix) :] for segments in alternatives]
    regex = "|".join(f"(?:{_pattern_regex(rest)})" for rest in rests)
    unbounded = any("**" in rest for rest in rests)
    depth = None if unbounded else max(len(rest) for rest in rests) - 1
    return GlobMatcher(tuple(prefix), re.compile(f"(?s:{regex})\\Z"), depth)
