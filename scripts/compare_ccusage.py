#!/usr/bin/env python3
"""Compare jusage's Claude Code import with ccusage, per UTC day, and time both.

Runs ``ccusage claude daily --json --offline --timezone UTC`` (with ``CLAUDE_CONFIG_DIR``
pointing at the tree and an empty ``HOME``) and ``import_claude_code`` into a fresh ledger,
then prints per-day ``inputTokens`` / ``outputTokens`` / ``cacheCreationTokens`` /
``cacheReadTokens`` from both and every difference. ``inputTokens`` on our side is
``prompt - cached - cache_write`` (Anthropic's non-cached input), as ccusage reports it.

    python scripts/gen_transcripts.py --out /tmp/cc --kind claude --no-streaming --no-malformed
    python scripts/compare_ccusage.py /tmp/cc/claude --ccusage /work/ccusage/node_modules/.bin/ccusage

Exit status 0 when every day agrees, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import orjson

from jusage.importers import import_claude_code
from jusage.store import Store

KEYS = ("inputTokens", "outputTokens", "cacheCreationTokens", "cacheReadTokens")


def run_ccusage(binary: str, tree: Path) -> tuple[dict[str, tuple[int, ...]], float]:
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "CLAUDE_CONFIG_DIR": str(tree), "HOME": home}
        start = time.perf_counter()
        out = subprocess.run(
            [binary, "claude", "daily", "--json", "--offline", "--timezone", "UTC"],
            env=env,
            check=True,
            capture_output=True,
        ).stdout
        took = time.perf_counter() - start
    days = {row["date"]: tuple(int(row[k]) for k in KEYS) for row in json.loads(out)["daily"]}
    return days, took


def run_jusage(tree: Path) -> tuple[dict[str, tuple[int, ...]], float, str]:
    with tempfile.TemporaryDirectory() as folder:
        store = Store(Path(folder) / "events.jsonl")
        start = time.perf_counter()
        summary = import_claude_code(store, [tree])
        took = time.perf_counter() - start
        sums: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        for raw in store.path.read_bytes().splitlines():
            e = orjson.loads(raw)
            day = datetime.fromtimestamp(e["ts"], UTC).strftime("%Y-%m-%d")
            cached, write = e.get("cached", 0), e.get("cache_write", 0)
            row = sums[day]
            row[0] += e.get("prompt", 0) - cached - write
            row[1] += e.get("completion", 0)
            row[2] += write
            row[3] += cached
    return {d: tuple(v) for d, v in sums.items()}, took, summary.describe()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tree", type=Path, help="a Claude config folder (with projects/)")
    parser.add_argument("--ccusage", default="ccusage", help="the ccusage executable")
    args = parser.parse_args()

    theirs, cc_time = run_ccusage(args.ccusage, args.tree)
    ours, our_time, summary = run_jusage(args.tree)
    print(f"{'day':<12}" + "".join(f"{k:>22}" for k in KEYS) + "  status")
    bad = 0
    for day in sorted(set(theirs) | set(ours)):
        a = theirs.get(day, (0, 0, 0, 0))
        b = ours.get(day, (0, 0, 0, 0))
        same = a == b
        bad += not same
        cells = "".join(f"{x:>22}" if x == y else f"{f'{y} (cc {x})':>22}" for x, y in zip(a, b, strict=True))
        print(f"{day:<12}{cells}  {'ok' if same else 'DIFF'}")
    print(f"\n{len(set(theirs) | set(ours))} days, {bad} differing")
    print(f"ccusage claude daily: {cc_time:.2f} s; jusage import: {our_time:.2f} s")
    print(summary)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
