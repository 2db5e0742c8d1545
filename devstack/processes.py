"""Child processes tracked by pid files that also record the process start time.

A pid alone is not an identity: after a reboot or a long time the number can belong to an unrelated
process. The start time from /proc/<pid>/stat (clock ticks since boot) pins it down, so we never
signal a process we did not start.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from devstack.errors import StackError, failure


@dataclass(frozen=True)
class PidRecord:
    pid: int
    start_time: int
    address: str = ""


def start_time_of(pid: int) -> int | None:
    """Start time of `pid` in clock ticks since boot; None if there is no such live process.

    Zombies (exited, not yet reaped by their parent) count as gone.
    """
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name (field 2) is in parentheses and may itself contain spaces or ')'.
    fields = raw[raw.rindex(")") + 2 :].split()
    state = fields[0]  # field 3
    if state in ("Z", "X"):
        return None
    return int(fields[19])  # field 22: starttime


def is_running(record: PidRecord) -> bool:
    """True only if the pid is alive *and* is the same process we recorded."""
    return start_time_of(record.pid) == record.start_time


def write_pidfile(path: Path, record: PidRecord) -> None:
    # First line is the bare pid so `kill $(head -1 x.pid)` still works by hand.
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".pid.tmp")
    tmp.write_text(f"{record.pid}\n{record.start_time}\n{record.address}\n")
    tmp.replace(path)  # atomic: a reader never sees half a file


def read_pidfile(path: Path) -> PidRecord | None:
    """The record in `path`, or None if missing or unreadable."""
    try:
        lines = path.read_text().splitlines()
        return PidRecord(int(lines[0]), int(lines[1]), lines[2] if len(lines) > 2 else "")
    except (FileNotFoundError, IndexError, ValueError):
        return None


def live_record(path: Path) -> PidRecord | None:
    """The record if its process is still ours and alive; otherwise clean up the stale file and return None."""
    record = read_pidfile(path)
    if record is not None and is_running(record):
        return record
    if record is not None:
        _reap(record.pid)
    path.unlink(missing_ok=True)
    return None


def spawn(
    cmd: Sequence[str],
    *,
    log_path: Path,
    pid_path: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    address: str = "",
    group: int | None = None,
) -> PidRecord:
    """Start `cmd` detached, stdout+stderr to `log_path` (truncated: it holds the current run only).

    `group`: the process's group id (a cluster node's own, which firewall rules can match its traffic by).
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        # A new session: the terminal's Ctrl-C reaches only devstack, which then stops things in order,
        # and `up` can exit while the children keep running.
        proc = subprocess.Popen(
            list(cmd),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=None if env is None else dict(env),
            cwd=cwd,
            start_new_session=True,
            group=group,
        )
    started = start_time_of(proc.pid)
    if started is None:
        proc.wait()
        raise failure(f"{Path(cmd[0]).name} exited immediately (exit code {proc.returncode})", log_path)
    record = PidRecord(proc.pid, started, address)
    write_pidfile(pid_path, record)
    return record


def _reap(pid: int) -> None:
    """Collect the exit status if `pid` is our own child, so it does not linger as a zombie."""
    # ChildProcessError: not our child (another devstack invocation started it), or already reaped.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def _signal(record: PidRecord, sig: signal.Signals) -> None:
    """Signal the process group when the process leads one (it does: spawn() starts a new session),
    so helpers it forked go down with it; a plain kill otherwise."""
    try:
        if os.getpgid(record.pid) == record.pid:
            os.killpg(record.pid, sig)
        else:
            os.kill(record.pid, sig)
    except ProcessLookupError:
        pass


def _wait_gone(records: list[PidRecord], timeout: float) -> list[PidRecord]:
    """Wait until all `records` exited or `timeout` passed; return those still running."""
    deadline = time.monotonic() + timeout
    remaining = records
    while True:
        for record in remaining:
            _reap(record.pid)
        remaining = [r for r in remaining if is_running(r)]
        if not remaining or time.monotonic() >= deadline:
            return remaining
        time.sleep(0.1)


def stop(
    pid_paths: Iterable[Path], timeout: float = 15.0, on_kill: Callable[[Path], None] | None = None
) -> list[Path]:
    """SIGTERM every live process in `pid_paths` at once, give them `timeout` seconds, then SIGKILL
    (telling `on_kill` which). Removes the pid files (stale ones too). Returns the pid files whose
    process was actually stopped.
    """
    targets: list[tuple[Path, PidRecord]] = []
    for path in pid_paths:
        record = live_record(path)
        if record is not None:
            targets.append((path, record))
    for _, record in targets:
        _signal(record, signal.SIGTERM)
    stuck = _wait_gone([r for _, r in targets], timeout)
    for path, record in targets:
        if record in stuck:
            if on_kill is not None:
                on_kill(path)
            _signal(record, signal.SIGKILL)
    still = _wait_gone(stuck, 5.0)
    for path, record in targets:
        if record not in still:
            path.unlink(missing_ok=True)
    if still:
        pids = ", ".join(str(r.pid) for r in still)
        raise StackError(f"processes {pids} survived SIGKILL; pid files kept")
    return [path for path, _ in targets]
