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

__all__ = ["Config", "ConfigError", "config_path", "load_config", "read_toml"]


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


@functools.cache
def _load(path: Path) -> Config:
    import re

    found = read_toml(path, ConfigError)
    if found is None:
        return Config()
    text, data = found

    def line_of(key: str) -> int:
        pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
        return next((n for n, line in enumerate(text.splitlines(), 1) if pattern.match(line)), 1)

    for key, value in data.items():
        kind = _KEYS.get(key)
        if kind is None:
            allowed = ", ".join(sorted(_KEYS))
            raise ConfigError(f"{path}:{line_of(key)}: unknown key {key!r} (allowed: {allowed})")
        if not isinstance(value, kind) or (
            isinstance(value, list) and not all(isinstance(v, str) for v in value)
        ):
            wanted = {str: "a string", list: "a list of strings", bool: "true or false"}[kind]
            raise ConfigError(f"{path}:{line_of(key)}: {key} must be {wanted}")
    # Checked here so a bad value is an error naming its line, not a surprise later.
    try:
        from jusage.days import resolve_timezone
        from jusage.periods import parse_weekday

        resolve_timezone(data.get("timezone"))
    except ValueError as exc:
        raise ConfigError(f"{path}:{line_of('timezone')}: timezone: {exc}") from None
    try:
        parse_weekday(data.get("start_of_week", "monday"))
    except ValueError as exc:
        raise ConfigError(f"{path}:{line_of('start_of_week')}: start_of_week: {exc}") from None
    return Config(
        machine_name=data.get("machine_name", "").strip(),
        logs=tuple(data.get("logs", ())),
        sync=data.get("sync", True),
        timezone=data.get("timezone", "").strip(),
        start_of_week=data.get("start_of_week", "monday").strip(),
    )
