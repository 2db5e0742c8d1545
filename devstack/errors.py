"""The one error type devstack raises, and the log excerpt that makes it actionable."""

from __future__ import annotations

from collections import deque
from pathlib import Path


class StackError(RuntimeError):
    """A stack step failed; the message says what failed and which log file to read."""


def tail(path: Path, lines: int = 30) -> str:
    """The last `lines` lines of a log file (empty if it does not exist yet)."""
    try:
        with path.open("r", encoding="utf-8", errors="replace") as handle:
            return "".join(deque(handle, maxlen=lines))
    except FileNotFoundError:
        return ""


def failure(what: str, log_path: Path, lines: int = 30) -> StackError:
    """A StackError naming the log file and quoting its end, so the cause shows up without digging."""
    excerpt = tail(log_path, lines).rstrip("\n")
    body = excerpt if excerpt else "(log is empty)"
    return StackError(f"{what}\nsee {log_path}; its last {lines} lines:\n{body}")
