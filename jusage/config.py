"""``$JUSAGE_HOME/config.toml``: the settings a user keeps between runs.

Every key is optional::

    machine_name = "laptop"          # this machine's name in the host field (default: host name)
    logs = ["~/Sync/jusage"]         # more logs (files or folders of *.jsonl) every report reads
    sync = true                      # reports bring in new agent history first (default true)
    timezone = "Europe/Berlin"       # the zone of budget periods (default: local)
    start_of_week = "monday"         # the first day of a weekly budget (default monday)

A file that cannot be read or has an unknown key or a wrong type is a
:class:`ConfigError` naming the file and line.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "Config",
    "ConfigError",
    "config_path",
    "key_line",
    "load_config",
    "read_toml",
    "table_headers",
    "top_key_line",
]


class ConfigError(ValueError):
    """The configuration file is unreadable or malformed; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class Config:
    """The settings of ``config.toml`` (see the module docstring)."""

    machine_name: str = ""
    logs: tuple[str, ...] = ()
    sync: bool = True
    timezone: str = ""
    start_of_week: str = "monday"


def config_path() -> Path:
    """``$JUSAGE_HOME/config.toml``."""
    from jusage.locations import jusage_home

    return jusage_home() / "config.toml"


_KEYS: dict[str, type] = {
    "machine_name": str,
    "logs": list,
    "sync": bool,
    "timezone": str,
    "start_of_week": str,
}


def load_config(path: Path | None = None) -> Config:
    """The configuration in ``path`` (default :func:`config_path`); defaults when it is missing.

    Raises :class:`ConfigError` for a file that is unreadable or malformed.
    """
    return _load(path or config_path())


def read_toml(path: Path, error: type[ValueError]) -> tuple[str, dict[str, Any]] | None:
    """The text of the TOML file at ``path`` and its table; ``None`` when it does not exist.

    Raises ``error`` with a one-line message naming the file, and the line of a syntax error.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot read: {exc}") from None
    import re  # only with a file to parse: the status line starts without them
    import tomllib

    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"at line (\d+)", str(exc))
        raise error(f"{path}:{found.group(1) if found else 1}: invalid TOML: {exc}") from None


# Where in a TOML file a semantic error is: tomllib gives values, not lines, so the lines are
# found again in the text, best effort (a message naming line 1 is still a clear message).


def table_headers(text: str, table: str) -> list[tuple[int, str, str]]:
    """``(line number, NAME, the rest)`` of each ``[table.NAME...]`` or ``[[table.NAME...]]``
    header of ``text``: ``[[models."m".tiers]]`` gives ``(n, "m", ".tiers")``."""
    import json
    import re

    header = re.compile(
        rf"""^\s*\[\[?\s*{re.escape(table)}\s*\.\s*("(?:[^"\\]|\\.)*"|'[^']*'|[A-Za-z0-9_-]+)\s*(.*?)\]"""
    )
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        if match := header.match(line):
            raw, rest = match.group(1), match.group(2)
            if raw.startswith('"'):
                try:
                    name = json.loads(raw)
                except ValueError:
                    continue
            else:
                name = raw.strip("'")
            found.append((number, name, rest.replace(" ", "")))
    return found


def key_line(text: str, key: str, start: int) -> int:
    """The line of ``key = ...`` in the table whose header is on line ``start``, else ``start``."""
    import re

    pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
    for number, line in enumerate(text.splitlines()[start:], start=start + 1):
        if line.lstrip().startswith("["):
            break
        if pattern.match(line):
            return number
    return start


def top_key_line(text: str, key: str) -> int:
    """The first line that sets or opens the top-level ``key`` (``key =``, ``[key...``), else 1."""
    import re

    pattern = re.compile(rf"^\s*(\[\[?\s*)?[\"']?{re.escape(key)}[\"']?\s*[=.\]]")
    return next((n for n, line in enumerate(text.splitlines(), 1) if pattern.match(line)), 1)


@functools.cache
def _load(path: Path) -> Config:
    found = read_toml(path, ConfigError)
    if found is None:
        return Config()
    text, data = found
    for key, value in data.items():
        kind = _KEYS.get(key)
        if kind is None:
            allowed = ", ".join(sorted(_KEYS))
            raise ConfigError(f"{path}:{top_key_line(text, key)}: unknown key {key!r} (allowed: {allowed})")
        if not isinstance(value, kind) or (
            isinstance(value, list) and not all(isinstance(v, str) for v in value)
        ):
            wanted = {str: "a string", list: "a list of strings", bool: "true or false"}[kind]
            raise ConfigError(f"{path}:{top_key_line(text, key)}: {key} must be {wanted}")
    # Checked here so a bad value is an error naming its line, not a surprise later.
    try:
        from jusage.days import resolve_timezone
        from jusage.periods import parse_weekday

        resolve_timezone(data.get("timezone"))
    except ValueError as exc:
        raise ConfigError(f"{path}:{top_key_line(text, 'timezone')}: timezone: {exc}") from None
    try:
        parse_weekday(data.get("start_of_week", "monday"))
    except ValueError as exc:
        raise ConfigError(f"{path}:{top_key_line(text, 'start_of_week')}: start_of_week: {exc}") from None
    return Config(
        machine_name=data.get("machine_name", "").strip(),
        logs=tuple(data.get("logs", ())),
        sync=data.get("sync", True),
        timezone=data.get("timezone", "").strip(),
        start_of_week=data.get("start_of_week", "monday").strip(),
    )
