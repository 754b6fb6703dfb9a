#!/usr/bin/env python3
"""Write a deterministic, realistic jusage event log (JSON lines) for samples and benchmarks.

Many models and projects, sessions of a few dozen turns, prompt caching, reasoning models,
idle gaps and streaks, a handful of events with a reported cost. The same seed and size
always give byte-identical output.

Examples:
    python scripts/gen_log.py --events 3000 --days 90 --end 2026-11-20 -o fixtures/sample.jsonl
    python scripts/gen_log.py --events 1000000 --days 730 -o /tmp/big.jsonl
    python scripts/gen_log.py --events 1000000 --days 730 --agents 6 -o /tmp/busy.jsonl
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson

MODELS = [
    # (model, provider, weight, caches, reasons)
    ("claude-sonnet-4-5-20250929", "anthropic", 30, True, False),
    ("claude-opus-4-1-20250805", "anthropic", 8, True, False),
    ("claude-haiku-4-5-20251001", "anthropic", 10, True, False),
    ("gpt-5-codex", "openai", 18, True, True),
    ("gpt-5", "openai", 8, True, True),
    ("gpt-5-mini", "openai", 6, True, True),
    ("gemini-2.5-pro", "google", 6, True, True),
    ("deepseek-chat", "deepseek", 3, True, False),
    ("llama3.1:8b", "ollama", 2, False, False),
]
PROJECTS = [
    "/home/ada/src/jusage",
    "/home/ada/src/compiler",
    "/home/ada/src/website",
    "/home/ada/work/billing-api",
    "/home/ada/work/infra",
    "/home/ada/notes",
    "/srv/agents/nightly-triage",
]
SOURCES = ["claude-code", "codex", "jcode", "sdk", "cli"]
ROLES = ["", "", "", "subagent", "reviewer"]


def generate(events: int, days: int, end: date, seed: int, agents: int = 1) -> list[bytes]:
    """The lines of the log, in time order.

    ``agents`` sessions run at once: each turn goes to one of them at random, so the lines of
    concurrent sessions (often of different projects and models) interleave, as in the log
    of several agents at work. With 1 the sessions follow one another.
    """
    rng = random.Random(seed)
    start = end - timedelta(days=days - 1)
    # Active days: runs of work separated by idle gaps, so streaks and gaps both occur.
    active: list[date] = []
    day = start
    while day <= end:
        run = rng.randint(1, 12)
        for _ in range(run):
            if day > end:
                break
            if day.weekday() < 5 or rng.random() < 0.35:
                active.append(day)
            day += timedelta(days=1)
        day += timedelta(days=rng.choice([0, 1, 1, 2, 3, 5]))
    if not active or active[-1] != end:
        active.append(end)  # the last day is a working day, so "today" has a streak
    weights = [m[2] for m in MODELS]
    per_day = max(1, events // len(active))
    out: list[bytes] = []
    remaining = events
    for i, d in enumerate(active):
        if i == len(active) - 1:
            n = remaining
        else:  # leave the last day at least half a day's share
            n = max(0, min(remaining - max(1, per_day // 2), max(1, int(per_day * rng.uniform(0.3, 1.7)))))
        remaining -= n
        base = int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp())
        moments = sorted(rng.randint(6 * 3600, 24 * 3600 + 2 * 3600) for _ in range(n))
        slots: list[dict[str, Any]] = [{"left": 0} for _ in range(agents)]
        for m in moments:
            slot = slots[rng.randrange(agents)] if agents > 1 else slots[0]
            if slot["left"] <= 0:
                model, provider, _w, caches, reasons = rng.choices(MODELS, weights)[0]
                slot.update(
                    model=model,
                    provider=provider,
                    caches=caches,
                    reasons=reasons,
                    project=rng.choice(PROJECTS),
                    source=rng.choice(SOURCES),
                    session=f"{rng.getrandbits(64):016x}-{rng.getrandbits(32):08x}",
                    left=rng.randint(5, 80),
                    context=rng.randint(3_000, 20_000),
                )
            slot["left"] -= 1
            model, provider, caches, reasons = (slot[k] for k in ("model", "provider", "caches", "reasons"))
            project, source, session = slot["project"], slot["source"], slot["session"]
            limit = 400_000 if "sonnet" in model else 190_000
            context = slot["context"] = min(slot["context"] + rng.randint(200, 6_000), limit)
            cached = int(context * rng.uniform(0.6, 0.98)) if caches and rng.random() < 0.9 else 0
            write = rng.randint(0, context - cached) // 3 if caches and "claude" in model else 0
            completion = rng.randint(20, 4_000)
            reasoning = rng.randint(0, completion) if reasons else 0
            ts = base + m
            event = {
                "ts": ts,
                "date": datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d"),
                "project": project,
                "session": session,
                "model": model,
                "prompt": context,
                "completion": completion,
                "cached": cached,
                "total": context + completion,
                "calls": rng.randint(1, 4),
                "source": source,
                "id": f"{rng.getrandbits(64):016x}",
            }
            if provider == "ollama":  # a local model: its name does not tell the provider
                event["provider"] = provider
            if write:
                event["cache_write"] = write
            if reasoning:
                event["reasoning"] = reasoning
            role = rng.choice(ROLES)
            if role:
                event["role"] = role
            if source == "sdk" and rng.random() < 0.3:
                event["cost_usd"] = round((context - cached) * 3e-6 + completion * 15e-6, 6)
            out.append(orjson.dumps(event))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=3000, help="number of events (default 3000)")
    parser.add_argument("--days", type=int, default=90, help="days of history (default 90)")
    parser.add_argument("--end", default="2026-11-20", help="last day, YYYY-MM-DD (default 2026-11-20)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument(
        "--agents", type=int, default=1, help="sessions at work at once, their lines interleaved (default 1)"
    )
    parser.add_argument("-o", "--output", default="-", help="output file (default stdout)")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    if args.agents < 1:
        parser.error("--agents must be at least 1")
    lines = generate(args.events, args.days, date.fromisoformat(args.end), args.seed, args.agents)
    data = b"\n".join(lines) + b"\n"
    if args.output == "-":
        sys.stdout.buffer.write(data)
    else:
        with open(args.output, "wb") as fh:
            fh.write(data)
        print(
            f"wrote {len(lines):,} events ({len(data) / 1e6:.1f} MB) to {args.output} "
            f"in {time.perf_counter() - began:.1f}s",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
