"""jusage: a token-usage and cost ledger for coding agents.

Record a turn from an agent (never raises)::

    import jusage
    jusage.record_event(model="claude-sonnet-4-5", prompt=12_000, cached=9_000, completion=800,
                        project="/home/me/app", session="abc")

Read the ledger::

    from datetime import date
    stats = jusage.log_stats(jusage.default_log_path(), today=date.today())

Names are imported on first use, so ``import jusage`` costs almost nothing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "Event": "jusage.events",
    "EventError": "jusage.events",
    "Store": "jusage.store",
    "record_event": "jusage.store",
    "default_log_path": "jusage.locations",
    "Aggregator": "jusage.aggregate",
    "Partial": "jusage.aggregate",
    "Table": "jusage.aggregate",
    "Usage": "jusage.aggregate",
    "rollup": "jusage.aggregate",
    "Coster": "jusage.costing",
    "Pricer": "jusage.pricing",
    "Stats": "jusage.views.stats",
    "Share": "jusage.views.stats",
    "aggregate": "jusage.views.stats",
    "stats_view": "jusage.views.stats",
    "log_stats": "jusage.views.stats",
    "aggregate_file": "jusage.scan",
    "estimate": "jusage.estimate",
    "estimate_bytes": "jusage.estimate",
    "ContextBreakdown": "jusage.estimate",
}

__all__ = [
    "Aggregator",
    "ContextBreakdown",
    "Coster",
    "Event",
    "EventError",
    "Partial",
    "Pricer",
    "Share",
    "Stats",
    "Store",
    "Table",
    "Usage",
    "aggregate",
    "aggregate_file",
    "default_log_path",
    "estimate",
    "estimate_bytes",
    "log_stats",
    "record_event",
    "rollup",
    "stats_view",
]

if TYPE_CHECKING:
    from jusage.aggregate import Aggregator, Partial, Table, Usage, rollup
    from jusage.costing import Coster
    from jusage.estimate import ContextBreakdown, estimate, estimate_bytes
    from jusage.events import Event, EventError
    from jusage.locations import default_log_path
    from jusage.pricing import Pricer
    from jusage.scan import aggregate_file
    from jusage.store import Store, record_event
    from jusage.views.stats import Share, Stats, aggregate, log_stats, stats_view


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'jusage' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
