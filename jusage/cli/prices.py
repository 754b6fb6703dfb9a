"""``jusage prices``: every model in the log, the price used for it and where it came from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from jusage.cli.options import CliError, echo_json, json_option, prices_option, readable_log
from jusage.cli.query import (
    echo_table,
    load_pricer,
    logs_options,
    resolve_logs,
    stdout_color,
    sync_before_report,
    width,
)


def _usd(micro: int) -> float:
    return micro / 1_000_000


def _price(micro: int) -> str:
    """Micro-dollars per million as dollars, at least two decimals, no trailing zeros past them."""
    whole, frac = divmod(micro, 1_000_000)
    digits = f"{frac:06d}".rstrip("0").ljust(2, "0")
    return f"{whole:,}.{digits}"


def _rates_json(rates: Any) -> dict[str, Any]:
    return {
        "input": _usd(rates.input),
        "output": _usd(rates.output),
        "cacheRead": _usd(rates.cache_read),
        "cacheWrite": _usd(rates.cache_write),
        "cacheWrite1h": _usd(rates.cache_write_1h),
    }


@click.command()
@logs_options
@prices_option
@json_option
def prices(prices_path: Path | None, as_json: bool, **opts: Any) -> None:
    """Every model in the log, the price used for it and where it came from.

    Prices are in US dollars per million tokens, as of the last day the model was used
    (each event is priced at its own date). The source is "override" (your prices file),
    "package" (the bundled genai-prices data) or "unknown": those models' tokens are shown
    as unpriced in every report, never as free.

    \b
    Examples:
      jusage prices
      jusage prices --prices ~/my-prices.toml --json
    """
    from datetime import UTC

    from jusage.costing import model_prices
    from jusage.render.text import format_int, render_table
    from jusage.views.reports import read_log

    pricer = load_pricer(prices_path)
    logs, sync = resolve_logs(opts)
    for path in logs:
        readable_log(path)
    if sync:
        sync_before_report(logs[0], quiet=as_json)
    try:
        found = model_prices(read_log(list(logs), ("model",), tz=UTC), pricer)
    except OSError as exc:
        raise CliError(f"cannot read the log: {exc.strerror or exc}") from None
    unknown = [m.model or "(no model)" for m in found if m.rates is None]
    if unknown:
        click.echo(f"warning: no price known for: {', '.join(unknown)}", err=True)
    if as_json:
        models = []
        for m in found:
            entry: dict[str, Any] = {
                "model": m.model,
                "provider": m.provider,
                "source": m.source,
                "matched": m.rates.model_ref if m.rates is not None else None,
                "firstSeen": m.first_day,
                "lastSeen": m.last_day,
                "totalTokens": m.tokens,
                "prices": None if m.rates is None else _rates_json(m.rates),
                "tiers": []
                if m.rates is None
                else [{"above": above, **_rates_json(tier)} for above, tier in m.rates.tiers],
            }
            models.append(entry)
        overrides = str(pricer.overrides_path) if pricer.overrides_path else None
        data = {"models": models, "overridesFile": overrides}
        echo_json(data)
        return
    if not found:
        click.echo("No models in the log.")
        return
    rows = []
    for m in found:
        if m.rates is None:
            cells = ["-"] * 4
        else:
            r = m.rates
            cells = [_price(v) for v in (r.input, r.output, r.cache_read, r.cache_write)]
        tier = "*" if m.rates is not None and m.rates.tiers else ""
        rows.append([m.model or "(no model)", *cells, m.source + tier, format_int(m.tokens)])
    echo_table(
        render_table(
            ["Model", "Input", "Output", "Cache R", "Cache W", "Source", "Tokens"],
            rows,
            "lrrrrlr",
            max_width=width(),
            color=stdout_color(),
        )
    )
    click.echo("Prices in USD per million tokens, as of each model's last day in the log.")
    if any(m.rates is not None and m.rates.tiers for m in found):
        click.echo("* higher prices apply above a number of input tokens per request (--json lists them).")
