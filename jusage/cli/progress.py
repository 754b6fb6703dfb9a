"""A progress bar on stderr for long work, shown only on a terminal and only once it is long."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

__all__ = ["progress_bar"]


@contextmanager
def progress_bar(
    enabled: bool, label: str, *, delay: float = 0.0
) -> Iterator[Callable[[int, int], None] | None]:
    """A ``progress(done, total)`` callback drawing a bar on stderr, or ``None`` when
    disabled or stderr is not a terminal. The bar appears only once the work has taken
    ``delay`` seconds, so quick runs stay silent."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    began = time.monotonic()
    holder: list[Any] = []  # click's ProgressBar class is not public

    def update(done: int, total: int) -> None:
        if not holder:
            if time.monotonic() - began < delay:
                return
            bar = click.progressbar(length=max(total, 1), label=label, file=sys.stderr, show_pos=False)
            bar.__enter__()
            holder.append(bar)
        bar = holder[0]
        if total != bar.length:
            bar.length = max(total, 1)
        bar.update(max(0, done - bar.pos))

    try:
        yield update
    finally:
        if holder:
            holder[0].__exit__(None, None, None)
