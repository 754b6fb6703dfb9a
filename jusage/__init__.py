"""jusage: a token-usage and cost ledger for coding agents.

Record a turn from an agent (never raises)::

    import jusage
    jusage.record_event(model="claude-sonnet-4-5", prompt=12_000, cached=9_000, completion=800,
                        project="/home/me/app", session="abc")

Check the budgets before a model call (``$JUSAGE_HOME/budgets.toml``)::

    verdict = jusage.check_budget(project="/home/me/app", session="abc", model="claude-sonnet-4-5")
    if verdict.action == "stop":
        raise SystemExit(verdict.reason)

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
    "Budget": "jusage.budgets",
    "BudgetError": "jusage.budgets",
    "Scope": "jusage.budgets",
    "BudgetChecker": "jusage.checker",
    "BudgetResult": "jusage.checker",
    "BudgetStatus": "jusage.checker",
    "check_budget": "jusage.checker",
}

__all__ = [
    "Aggregator",
    "Budget",
    "BudgetChecker",
    "BudgetError",
    "BudgetResult",
    "BudgetStatus",
    "ContextBreakdown",
    "Coster",
    "Event",
    "EventError",
    "Partial",
    "Pricer",
    "Scope",
    "Share",
    "Stats",
    "Store",
    "Table",
    "Usage",
    "aggregate",
    "aggregate_file",
    "check_budget",
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
    from jusage.budgets import Budget, BudgetError, Scope
    from jusage.checker import BudgetChecker, BudgetResult, BudgetStatus, check_budget
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
