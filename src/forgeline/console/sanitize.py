"""Text from models and tools, made safe to print on a terminal (DESIGN §9).

A model (or a file, or a command's output) controls much of what `forgeline run` prints.
Printed raw, its escape sequences would reach the user's terminal: an OSC 52 sequence
writes the clipboard, cursor moves and `\\r` overwrite earlier lines (a fake
"✓ approved"), and C1 controls do the same in 8-bit form. Rich markup in it (`[bold red]`)
would be interpreted too. `clean` removes every control sequence and character but
newlines and tabs; `safe` also escapes rich markup; `one_line` also folds the text onto
one line, for the one-line progress view.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Final

from rich.markup import escape

_CONTROL: Final = re.compile(
    r"\x1b\][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"  # OSC ... BEL or ST (clipboard, titles)
    r"|\x1b[PX^_][^\x1b\x9c]*(?:\x1b\\|\x9c)?"  # DCS, SOS, PM, APC strings
    r"|\x1b\[[0-?]*[ -/]*[@-~]?"  # CSI: cursor moves, erases, colours
    r"|\x1b[ -/]*[0-~]?"  # any other escape sequence (or a lone ESC)
    r"|\x9b[0-?]*[ -/]*[@-~]?"  # 8-bit CSI
    r"|[\x9d\x90\x98\x9e\x9f][^\x07\x1b\x9c]*(?:\x07|\x9c)?"  # 8-bit OSC, DCS, SOS, PM, APC
    r"|[\x00-\x08\x0b-\x1f\x7f-\x9f]"  # other C0 controls (\r included), DEL, C1
    r"|[\u202a-\u202e\u2066-\u2069]"  # bidirectional overrides (text shown reordered)
)
_BLANKS: Final = re.compile(r"[\t\n]+")


def clean(text: object) -> str:
    """`text` (made a string) without control sequences or characters, but `\\n` and `\\t`."""
    return _CONTROL.sub("", str(text))


def safe(text: object) -> str:
    """`clean(text)`, with rich markup escaped: fit to put inside a markup string."""
    return escape(clean(text))


def one_line(text: object, limit: int | None = None) -> str:
    """`safe(text)` on one line (newlines and tabs become spaces), at most `limit` characters
    before escaping."""
    flat = _BLANKS.sub(" ", clean(text)).strip()
    return escape(flat if limit is None else flat[:limit])


class CleanFormatter(logging.Formatter):
    """A log formatter whose lines (tracebacks included) carry no control sequences."""

    def format(self, record: logging.LogRecord) -> str:
        """The record formatted as usual, then cleaned."""
        return clean(super().format(record))


def clean_terminal_logging() -> None:
    """Print warnings and errors on stderr without control sequences (a tool's error may
    quote a model's text). Does nothing when the root logger already has handlers."""
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.WARNING)
    handler.setFormatter(CleanFormatter("%(message)s"))
    root.addHandler(handler)
