"""This machine's name, as it is written into the ``host`` field of events."""

from __future__ import annotations

import functools

__all__ = ["host_name"]


@functools.cache
def host_name() -> str:
    """``machine_name`` from ``config.toml``, else the host name up to its first dot.

    A configuration file that cannot be read is not this function's business: it falls back
    to the host name (the commands that read the configuration report its errors).
    """
    import platform

    from jusage.config import ConfigError, load_config

    try:
        configured = load_config().machine_name
    except ConfigError:
        configured = ""
    return configured or platform.node().split(".")[0] or "unknown"
