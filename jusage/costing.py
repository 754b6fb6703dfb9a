"""Turning usage into money: the cost modes and the coster that prices groups of events.

The aggregation (:mod:`jusage.aggregate`) only adds counts; when its groups are rolled up, a
:class:`Coster` prices each group once from its sums, in integer pico-dollars. ``None``
means "no price", and the group's tokens are then counted as unpriced instead of as free.

The three cost modes follow ccusage's ``--mode``:

``auto`` (the default)
    the cost the source reported (``cost_usd``) when the event has one, else the cost
    calculated from its tokens at the model's price on the event's own day;
``calculate``
    always the calculated cost, ignoring ``cost_usd``;
``display``
    only the reported ``cost_usd``. ccusage shows such events as $0.00; jusage counts them
    as *unpriced* instead, so a missing cost is never shown as free.

Rates are looked up once per ``(model, UTC day)``; a calculated cost is linear in the counts,
so pricing a group's sums equals the sum of its events' prices exactly.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from collections.abc import Iterable

    from jusage.aggregate import EventLike, Table
    from jusage.pricing import Pricer, PriceSource, Rates

__all__ = [
    "COST_MODES",
    "CostMode",
    "Coster",
    "ModelPrice",
    "model_prices",
    "pico_from_usd",
    "unpriced_models",
]

CostMode = Literal["auto", "calculate", "display"]
"""How an event's cost is found: see the module docstring."""

COST_MODES: tuple[CostMode, ...] = ("auto", "calculate", "display")
"""Every cost mode, default first."""

_PICO_PER_USD = 1e12


def pico_from_usd(usd: float) -> int:
    """A reported cost in US dollars as integer pico-dollars (rounded to the nearest)."""
    return round(usd * _PICO_PER_USD)


class Coster:
    """Prices the groups of a partial aggregation (see :func:`jusage.aggregate.rollup`).

    ``pricer`` supplies the calculated prices (``None``: no prices at all, so only reported
    costs count); ``mode`` is one of :data:`COST_MODES`. Raises ValueError for an unknown
    mode.
    """

    __slots__ = ("_rates", "cache_key", "calculates", "mode", "pricer")

    def __init__(self, pricer: Pricer | None, mode: CostMode = "auto") -> None:
        if mode not in COST_MODES:
            raise ValueError(f"unknown cost mode {mode!r}: expected one of {', '.join(COST_MODES)}")
        self.pricer = pricer
        self.mode = mode
        self.calculates = pricer is not None and mode != "display"
        #: What the prices (and the tiers the fold keeps apart) depend on, for keys of
        #: cached aggregations; not the mode, which applies only when groups are priced.
        self.cache_key = pricer.signature if self.calculates and pricer else "-"
        self._rates: dict[str, tuple[list[str], list[Rates | None]]] = {}

    def tiers_of(self, model: str) -> tuple[int, ...]:
        """The prompt sizes above which ``model``'s calculated price changes, ascending (none
        when this coster does not calculate): the fold keeps events of different tiers apart."""
        if not self.calculates or self.pricer is None:
            return ()
        return self.pricer.model_thresholds(model)

    def group_cost(
        self,
        model: str,
        utc_day: str,
        tier: int,
        reported: int | None,
        prompt: int,
        completion: int,
        cached: int,
        cache_write: int,
        cache_write_1h: int,
    ) -> int | None:
        """The cost in pico-dollars of a group of events (or of one), or ``None`` when it has
        no price.

        ``reported`` is the sum of the costs its events reported, ``None`` when they did not.
        ``auto`` uses that, else calculates; ``calculate`` always calculates; ``display`` uses
        only reported costs. A calculated cost takes the model's rates on ``utc_day`` for
        prompts in price tier ``tier`` (how many of :meth:`tiers_of` the model's prompts are
        above) applied to the token counts.
        """
        if reported is not None and self.mode != "calculate":
            return reported
        if self.mode == "display" or self.pricer is None:
            return None
        rates = self.rates(model, utc_day)
        if rates is None:
            return None
        if tier:
            rates = rates.for_prompt(self.tiers_of(model)[tier - 1] + 1)
        return rates.linear_cost(prompt, completion, cached, cache_write, cache_write_1h)

    def event_cost(self, event: EventLike, utc_day: str) -> int | None:
        """The cost in pico-dollars of one event on ``utc_day`` (its UTC day, ``YYYY-MM-DD``),
        as :meth:`group_cost` prices a group; ``None`` when it has no price."""
        usd = event.cost_usd
        return self.group_cost(
            event.model,
            utc_day,
            bisect_left(self.tiers_of(event.model), event.prompt),
            None if usd is None else pico_from_usd(usd),
            event.prompt,
            event.completion,
            event.cached,
            event.cache_write,
            event.cache_write_1h,
        )

    def rates(self, model: str, utc_day: str) -> Rates | None:
        """The model's rates on ``utc_day`` (``YYYY-MM-DD``); ``None``: no price."""
        history = self._rates.get(model)
        if history is None:
            segments = self.pricer.history(model) if self.pricer is not None else (("", None),)
            history = self._rates[model] = ([start for start, _ in segments], [r for _, r in segments])
        starts, found = history
        # Days in ISO form sort as the dates do, so the day's price is found among the strings.
        return found[max(bisect_right(starts, utc_day) - 1, 0)]


def unpriced_models(rows: Iterable[tuple[str, int]]) -> dict[str, int]:
    """``{model: unpriced tokens}`` from ``(model, unpriced tokens)`` pairs, zeros dropped.

    Models are listed by name; an event without a model is listed as ``(no model)``.
    """
    out: dict[str, int] = {}
    for model, tokens in rows:
        if tokens > 0:
            name = model or "(no model)"
            out[name] = out.get(name, 0) + tokens
    return dict(sorted(out.items()))


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """A model seen in a log and the price it gets: its rates on ``last_day`` and their source.

    ``rates`` is None (and ``source`` ``"unknown"``) when no price is known. Days are UTC.
    """

    model: str
    provider: str
    first_day: str
    last_day: str
    tokens: int
    rates: Rates | None
    source: PriceSource


def model_prices(table: Table, pricer: Pricer) -> list[ModelPrice]:
    """Every model of ``table`` (grouped by model, UTC days) with its price and source, most
    tokens first.

    The price shown is the one on the last (UTC) day the model appears; each event is still
    priced at its own date in the reports.
    """
    from jusage.aggregate import COMPLETION, PROMPT
    from jusage.pricing import infer_provider, price_source

    seen: dict[str, list[Any]] = {}
    for (day, model), counters in table.rows.items():
        tokens = counters[PROMPT] + counters[COMPLETION]
        entry = seen.get(model)
        if entry is None:
            seen[model] = [day, day, tokens]
        else:
            entry[0] = min(entry[0], day)
            entry[1] = max(entry[1], day)
            entry[2] += tokens
    out = []
    for model, (first, last, tokens) in seen.items():
        try:
            rates = pricer.rates(model, date.fromisoformat(last)) if model else None
        except ValueError:
            rates = None
        out.append(ModelPrice(model, infer_provider(model), first, last, tokens, rates, price_source(rates)))
    out.sort(key=lambda m: (-m.tokens, m.model))
    return out
