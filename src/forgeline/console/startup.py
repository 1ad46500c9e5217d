"""One-line errors for what stops any command before it starts: a bad setting, no database."""

from __future__ import annotations

CONNECTION_ERRORS = ("ConnectionError", "OperationalError", "InterfaceError", "gaierror")


def startup_error(exc: BaseException) -> str | None:
    """The user's message for `exc`, or None for an error that is a bug (keep its traceback)."""
    from pydantic import ValidationError

    if isinstance(exc, ValidationError) and exc.title == "Settings":
        return "; ".join(_setting(e["loc"], e["msg"]) for e in exc.errors())
    names = {cls.__name__ for cls in type(exc).__mro__}
    if names & set(CONNECTION_ERRORS):
        return (
            f"cannot reach a service Forgeline needs ({_first_line(exc)}): check "
            "FORGELINE_DATABASE_URL and FORGELINE_REDIS_URL, and that the server is running"
        )
    return None


def _setting(loc: tuple[int | str, ...], msg: str) -> str:
    name = "FORGELINE_" + "_".join(str(part) for part in loc).upper()
    return f"invalid setting {name}: {msg}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__
