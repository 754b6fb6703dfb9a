"""Turning events into money for the aggregation: the cost modes and the event coster.

The aggregation (:mod:`jusage.aggregate`) calls a *coster* once per event with the event and
its UTC day and sums what it returns, in integer pico-dollars; ``None`` means "no price", and
the event's tokens are then counted as unpriced instead of as free.

The three cost modes follow ccusage's ``--mode``:

``auto`` (the default)
    the cost the source reported (``cost_usd``) when the event has one, else the cost
    calculated from its tokens at the model's price on the event's own day;
``calculate``
    always the calculated cost, ignoring ``cost_usd``;
``display``
    only the reported ``cost_usd``. ccusage shows such events as $0.00; jusage counts them
    as *unpriced* instead, so a missing cost is never shown as free.

Price look-ups are cached per ``(model, day)``, so pricing a large log costs one dict
look-up and a little integer arithmetic per event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, Literal, cast

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping
    from pathlib import Path

    from jusage.aggregate import Coster
    from jusage.pricing import Pricer, PriceSource, Rates

__all__ = [
    "COST_MODES",
    "CostMode",
    "ModelPrice",
    "Spend",
    "make_coster",
    "model_prices",
    "pico_from_usd",
    "spend_view",
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


def make_coster(pricer: Pricer | None, mode: CostMode = "auto") -> Coster:
    """The coster for ``mode``: ``coster(event, utc_day) -> pico-dollars | None``.

    ``pricer`` supplies the calculated prices (``None``: no prices at all, so only
    reported costs count). ``utc_day`` is the event's UTC calendar day ``YYYY-MM-DD``; prices
    follow the price history to that day. Raises ValueError for an unknown ``mode``.
    """
    if mode not in COST_MODES:
        raise ValueError(f"unknown cost mode {mode!r}: expected one of {', '.join(COST_MODES)}")

    if mode == "display" or pricer is None:
        reported_only = mode != "calculate"

        def reported(event: Any, day: str) -> int | None:
            usd: float | None = event.cost_usd
            if usd is None or not reported_only:
                return None
            return round(usd * _PICO_PER_USD)

        return _keyed(reported, f"reported:{reported_only}", lambda model, day: None, reported_only)

    cache: dict[tuple[str, str], _Price | None] = {}
    lookup = pricer.rates

    def price_for(model: str, day: str) -> _Price | None:
        try:
            rates = lookup(model, date.fromisoformat(day))
        except ValueError:  # a day outside the calendar ("0000-00-00"): no price history
            rates = None
        found = None if rates is None else _flatten(rates)
        cache[(model, day)] = found
        return found

    use_reported = mode == "auto"

    # The per-event hot path: one tuple, one dict look-up and Rates.cost_pico inlined. The
    # aggregation has already dropped events whose counts are inconsistent, so the repairs
    # cost_pico makes are not needed here; the result is the same for consistent counts.
    def coster(event: Any, day: str) -> int | None:
        if use_reported:
            usd: float | None = event.cost_usd
            if usd is not None:
                return round(usd * _PICO_PER_USD)
        model = event.model
        price: Any = cache.get((model, day), _MISSING)
        if price is _MISSING:
            price = price_for(model, day)
        if price is None:
            return None
        prompt: int = event.prompt
        tiers = price[5]
        if tiers:
            for threshold, tier in tiers:
                if prompt > threshold:
                    price = tier
                    break
        cached = event.cached
        write = event.cache_write
        write_1h = event.cache_write_1h
        inp, out, read, wr5, wr1h, _ = price
        cost: int = (
            (prompt - cached - write) * inp
            + cached * read
            + (write - write_1h) * wr5
            + write_1h * wr1h
            + event.completion * out
        )
        return cost

    def linear_rates(model: str, day: str) -> _Price | None:
        price: Any = cache.get((model, day), _MISSING)
        if price is _MISSING:
            price = price_for(model, day)
        return cast("_Price | None", price)

    return _keyed(coster, f"{mode}:{pricer.signature}", linear_rates, use_reported)


def _keyed(
    coster: Callable[[Any, str], int | None],
    key: str,
    linear_rates: Callable[[str, str], _Price | None],
    reports: bool,
) -> Coster:
    """Tag a coster with ``cache_key`` (what its prices depend on, for aggregation
    checkpoints) and with how it prices, so runs of events can be priced at once (see
    :class:`~jusage.aggregate.Coster`)."""
    coster.cache_key = key  # type: ignore[attr-defined]
    coster.linear_rates = linear_rates  # type: ignore[attr-defined]
    coster.reports = reports  # type: ignore[attr-defined]
    return cast("Coster", coster)


_Price = tuple[int, int, int, int, int, tuple[tuple[int, Any], ...]]
"""Rates flattened for speed: input, output, cache read, 5-minute and 1-hour cache writes in
micro-dollars per million tokens, then ``(threshold, _Price)`` tiers, highest threshold first."""

_MISSING: Any = object()


def _flatten(rates: Rates) -> _Price:
    tiers = tuple((threshold, _flatten(tier)) for threshold, tier in reversed(rates.tiers))
    return (rates.input, rates.output, rates.cache_read, rates.cache_write, rates.cache_write_1h, tiers)


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


def model_prices(path: Path, pricer: Pricer) -> list[ModelPrice]:
    """Every model in the log at ``path`` (most tokens first) with its price and source.

    The price shown is the one on the last (UTC) day the model appears; each event is still
    priced at its own date in the reports. A missing log has no models.
    """
    from datetime import UTC

    from jusage.aggregate import Aggregator, Partial
    from jusage.pricing import infer_provider
    from jusage.scan import aggregate_file

    aggregator = Aggregator(("model",), tz=UTC)
    partial: Partial = aggregate_file(path, aggregator, cache="")
    seen: dict[str, list[Any]] = {}
    for (day, model), counters in partial.groups.items():
        entry = seen.get(model)
        if entry is None:
            seen[model] = [day, day, counters[0]]
        else:
            entry[0] = min(entry[0], day)
            entry[1] = max(entry[1], day)
            entry[2] += counters[0]
    out = []
    for model, (first, last, tokens) in seen.items():
        try:
            rates = pricer.rates(model, date.fromisoformat(last)) if model else None
        except ValueError:
            rates = None
        source: PriceSource = (
            "unknown" if rates is None else "override" if rates.source == "override" else "package"
        )
        out.append(ModelPrice(model, infer_provider(model), first, last, tokens, rates, source))
    out.sort(key=lambda m: (-m.tokens, m.model))
    return out


@dataclass(frozen=True, slots=True)
class Spend:
    """Money over time, in integer micro-dollars: today, this month so far, and the month's
    projection from the trailing 7-day daily average (see :func:`jusage.periods.project`)."""

    today: int
    this_month: int
    projected_month: int


def spend_view(daily_pico: Mapping[str, int], today: date, lookback_days: int = 7) -> Spend:
    """The :class:`Spend` from each day's cost (``{"YYYY-MM-DD": pico-dollars}``) as of ``today``.

    Days that are not calendar dates are ignored; days after ``today`` are ignored.
    """
    from jusage.periods import month_start, project

    micro: dict[date, int] = {}
    for day, pico in daily_pico.items():
        try:
            d = date.fromisoformat(day)
        except ValueError:
            continue
        micro[d] = micro.get(d, 0) + pico
    first = month_start(today)
    # Round once per day, half up, so the figures add up to what the day rows show.
    micro = {d: (pico + 500_000) // 1_000_000 for d, pico in micro.items()}
    month = sum(v for d, v in micro.items() if first <= d <= today)
    return Spend(micro.get(today, 0), month, project(micro, today, lookback_days))
