"""``jusage ingest``: append the events of files dropped into a folder, each exactly once."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from jusage.cli.options import CliError, echo_json, json_option, log_file, log_option, store_at

if TYPE_CHECKING:
    from jusage.ingest import IngestSummary


@click.command()
@click.argument("folder", metavar="DIR", type=click.Path(path_type=Path))
@click.option("--watch", is_flag=True, help="Keep running and ingest files as they arrive (Ctrl-C stops).")
@click.option("--keep", is_flag=True, help="Move ingested files to DIR/done/ instead of removing them.")
@log_option
@json_option
def ingest(folder: Path, watch: bool, keep: bool, log_path: Path | None, as_json: bool) -> None:
    """Append the events of files dropped into DIR to the log, each exactly once.

    For agents that cannot write the log (containers, sandboxes, remote runners): they
    drop one JSON file per event, or JSON lines, into a shared folder. A file may hold
    jusage's own events or the agent cost hook's (instance_id, model, input_tokens,
    output_tokens, cache_read_tokens, cache_write_tokens, ts). Files named *.json, *.jsonl
    or *.ndjson are taken once unchanged for a second; write each under another name and
    rename it into place. A file's content decides its events' ids, so a copy adds
    nothing. The file is removed (with --keep, moved to DIR/done/) once its events are on
    disk; a file that can never be read goes to DIR/rejected/ with a .reason beside it.
    Several ingesters may share one folder. While an import into the log runs (over ten
    seconds), files wait in DIR for a later pass.

    \b
    Examples:
      jusage ingest ~/drop
      jusage ingest /shared/jusage-drop --watch --keep
      jusage ingest ./drop --json --log /tmp/events.jsonl
    """
    import sqlite3

    from jusage.ingest import IngestFolderError, ingest_folder, watch_folder

    store = store_at(log_path)
    log_file(store.path)
    try:
        if not watch:
            _show(ingest_folder(store, folder, keep=keep), as_json)
            return
        with _stop_on_signals() as stop:
            watch_folder(store, folder, keep=keep, stop=stop, on_pass=lambda s: _show(s, as_json, quiet=True))
    except IngestFolderError as exc:
        raise CliError(str(exc)) from None
    except sqlite3.DatabaseError as exc:
        raise CliError(f"the import index of {store.path} could not be used ({exc}); run again") from None
    except OSError as exc:
        raise CliError(f"{getattr(exc, 'filename', None) or store.path}: {exc.strerror or exc}") from None
    except KeyboardInterrupt:  # a second Ctrl-C, or one before the handlers were set
        pass


def _show(summary: IngestSummary, as_json: bool, *, quiet: bool = False) -> None:
    """Print a pass's summary (with ``quiet``, only when it settled a file or an import kept
    files waiting)."""
    if quiet and not summary.settled and not summary.busy:
        return
    if as_json:
        import dataclasses

        if quiet:  # one compact line per pass while watching
            import orjson

            click.echo(orjson.dumps(dataclasses.asdict(summary)).decode())
        else:
            echo_json(dataclasses.asdict(summary))
    else:
        click.echo(f"ingest: {summary.describe()}")


@contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """An event set by SIGINT or SIGTERM, so a watch ends after the pass it is in."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop  # signal handlers can only be set from the main thread
        return

    def handler(signum: int, frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
