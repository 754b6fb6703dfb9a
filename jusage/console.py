"""The ``jusage`` console script: the status line skips click's start-up, all else is click.

Claude Code runs its status line command up to every 300 ms, so ``jusage statusline`` (with
no options, or only ``--log PATH`` and ``--no-color``) is answered without importing click
and building the command group; any other arguments, ``--help`` included, go to
:data:`jusage.cli.main` as usual.
"""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["run"]


def _statusline_options(args: list[str]) -> tuple[Path | None, bool] | None:
    """``(log, no_color)`` when ``args`` are ones the fast path knows, else ``None``."""
    log: Path | None = None
    no_color = False
    rest = iter(args)
    for arg in rest:
        if arg == "--no-color":
            no_color = True
        elif arg == "--log":
            value = next(rest, None)
            if value is None:
                return None
            log = Path(value)
        elif arg.startswith("--log="):
            log = Path(arg[len("--log=") :])
        else:
            return None
    return log, no_color


def run() -> None:
    """Run ``jusage`` with ``sys.argv``."""
    args = sys.argv[1:]
    if args[:1] == ["statusline"]:
        options = _statusline_options(args[1:])
        if options is not None:
            from jusage.statusline import print_status_line

            print_status_line(*options)
            sys.exit(0)
    from jusage.cli import main

    main()
