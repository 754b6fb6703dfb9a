"""Running a function over a few parts of a job in forked processes, results sent back pickled.

Used where the work is CPU- or system-call-bound and its parts are known up front: the
parallel scan of a large log (:mod:`jusage.scan`) and the walk of a large transcript tree
(:func:`jusage.importers.common.scan_files`). A forked child starts at once with everything in
memory (no pickling of the job, no ``multiprocessing`` import), so this pays for itself at a
few tens of milliseconds of work.
"""

from __future__ import annotations

import contextlib
import os
import pickle
from collections.abc import Callable, Sequence
from typing import TypeVar, cast

__all__ = ["map_forked"]

T = TypeVar("T")
R = TypeVar("R")


def map_forked(func: Callable[[T], R], parts: Sequence[T]) -> list[R]:
    """``[func(part) for part in parts]``, the parts after the first each in a forked child.

    The first part runs in this process meanwhile. A child that fails or dies has its part
    done again here, so the result is the same as the serial one whatever happens to the
    children; an exception in this process propagates as usual. Where ``fork`` does not
    exist everything runs here.
    """
    if len(parts) <= 1 or not hasattr(os, "fork"):
        return [func(part) for part in parts]
    children = [_start(func, part) for part in parts[1:]]
    results = [func(parts[0])]
    for (pid, fd), part in zip(children, parts[1:], strict=True):
        ok, value = _collect(pid, fd)
        results.append(cast("R", value) if ok else func(part))
    return results


def _start(func: Callable[[T], R], part: T) -> tuple[int, int]:
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: do the part, send the result, leave without cleanup handlers
        code = 0
        try:
            os.close(read_fd)
            data = pickle.dumps(func(part), protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(write_fd, "wb") as out:
                out.write(data)
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(write_fd)
    return pid, read_fd


def _collect(pid: int, fd: int) -> tuple[bool, object]:
    with os.fdopen(fd, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    if status != 0 or not data:
        return False, None
    with contextlib.suppress(Exception):
        return True, pickle.loads(data)
    return False, None
