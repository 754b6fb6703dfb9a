"""An exclusive lock on a file, held for a whole run (an import), between processes.

The process that holds the lock writes who it is into the lock file (its process id, host
and command line), so that one waiting for it can say for whom it waits.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path
from typing import Any, ClassVar

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["ExclusiveLock"]


class ExclusiveLock:
    """An exclusive lock on a file, between processes and between descriptors of one.

    A bare ``flock`` (``filelock`` uses the same on Unix, and importing it would cost a hook
    more than the rest of its start-up); Windows falls back to ``filelock``. A process forked
    while the lock is held (a worker of the parse) closes its copy of the descriptor, so the
    lock goes with the process that took it, even when that one is killed.
    """

    _held: ClassVar[set[int]] = set()  # descriptors of the locks this process holds

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = -1
        self._other: Any = None

    def acquire(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds (``-1``: for ever); False when it did not come."""
        if fcntl is None:  # pragma: no cover - Windows
            from filelock import FileLock, Timeout

            self._other = FileLock(str(self.path))
            try:
                self._other.acquire(timeout=timeout)
            except Timeout:
                return False
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        try:
            if timeout < 0:
                fcntl.flock(fd, fcntl.LOCK_EX)
            else:
                deadline = time.monotonic() + timeout
                while True:
                    try:
                        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        left = deadline - time.monotonic()
                        if left <= 0:
                            os.close(fd)
                            return False
                        time.sleep(min(0.01, left))
        except BaseException:
            with contextlib.suppress(OSError):
                os.close(fd)
            raise
        self._fd = fd
        ExclusiveLock._held.add(fd)
        with contextlib.suppress(OSError):  # who holds it is for messages only
            os.ftruncate(fd, 0)
            os.pwrite(fd, _whoami(), 0)
        return True

    def holder(self) -> str:
        """Who holds (or last held) the lock, as its holder wrote it: ``pid 4242: jusage import
        codex`` (with ``on <host>`` when another machine took it); ``""`` when unknown."""
        try:
            with open(self.path, "rb") as fh:
                text = fh.read(4096).decode("utf-8", "replace")
        except OSError:
            return ""
        pid, _, rest = text.partition("\t")
        host, _, command = rest.partition("\t")
        if not pid.isdigit():
            return ""
        where = f" on {host}" if host and host != _host() else ""
        return f"pid {pid}{where}: {command.strip()}" if command.strip() else f"pid {pid}{where}"

    def release(self) -> None:
        """Let go (closing the descriptor releases the ``flock``)."""
        if self._other is not None:  # pragma: no cover - Windows
            self._other.release()
            self._other = None
        if self._fd >= 0:
            ExclusiveLock._held.discard(self._fd)
            os.close(self._fd)
            self._fd = -1


def _host() -> str:
    import socket

    return socket.gethostname()


def _whoami() -> bytes:
    """This process as a lock's holder: ``pid<TAB>host<TAB>command``, one line."""
    command = " ".join([Path(sys.argv[0]).name if sys.argv else "", *sys.argv[1:]])
    line = f"{os.getpid()}\t{_host()}\t{' '.join(command.split())[:300]}\n"
    return line.encode("utf-8", "replace")


def _close_held_locks_in_child() -> None:
    for fd in ExclusiveLock._held:
        with contextlib.suppress(OSError):
            os.close(fd)
    ExclusiveLock._held.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_close_held_locks_in_child)
