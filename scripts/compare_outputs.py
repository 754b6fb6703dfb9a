#!/usr/bin/env python3
"""Run every report's ``--json`` on some logs and save or compare the outputs, byte for byte.

Used to prove that a change to the aggregation or the pricing leaves every answer as it was:
save the outputs of one build of jusage, then check another build against them.

    python scripts/compare_outputs.py --jusage /old/.venv/bin/jusage --save /tmp/out fixtures/sample.jsonl
    python scripts/compare_outputs.py --jusage .venv/bin/jusage --check /tmp/out fixtures/sample.jsonl

Each report runs in all three cost modes (``auto``, ``calculate``, ``display``), with
checkpoints off and a fresh ``JUSAGE_HOME``, in UTC and in a zone with daylight saving time
(whose days differ from UTC days, so prices are looked up by a day other than the row's).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPORTS: list[list[str]] = [
    ["stats", "--today", "2026-11-20"],
    ["stats", "--today", "2026-11-20", "--since", "2026-01-01"],
    ["daily"],
    ["weekly", "--start-of-week", "sunday"],
    ["monthly"],
    ["session"],
    ["blocks"],
    ["summary", "--by", "model,project"],
    ["summary", "--by", "provider,source,month"],
    ["summary", "--by", "session,role"],
]
ZONES = ("UTC", "America/New_York")
MODES = ("auto", "calculate", "display")


def commands() -> list[tuple[str, list[str]]]:
    """``(name, arguments)`` of every report run."""
    out = []
    for report in REPORTS:
        for zone in ZONES:
            for mode in MODES:
                args = [*report, "--json", "--timezone", zone, "--mode", mode]
                out.append(("_".join(a.strip("-").replace("/", "-") for a in args), args))
    return out


def run_all(jusage: str, log: Path, workers: int) -> dict[str, bytes]:
    """Every report's stdout on ``log``, by name."""
    from concurrent.futures import ThreadPoolExecutor

    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "JUSAGE_HOME": home, "JUSAGE_NO_CACHE": "1"}

        def one(item: tuple[str, list[str]]) -> tuple[str, bytes]:
            name, args = item
            done = subprocess.run([jusage, *args, "--log", str(log)], capture_output=True, env=env)
            if done.returncode != 0:
                return name, b"exit %d\n" % done.returncode + done.stderr
            return name, done.stdout

        with ThreadPoolExecutor(workers) as pool:
            return dict(pool.map(one, commands()))


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("logs", nargs="+", type=Path)
    parser.add_argument("--jusage", default="jusage", help="the jusage command to run")
    parser.add_argument("--workers", type=int, default=2, help="reports run at once")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--save", type=Path, help="folder to save the outputs in")
    group.add_argument("--check", type=Path, help="folder of saved outputs to compare with")
    args = parser.parse_args()
    differing = 0
    total = 0
    for log in args.logs:
        tag = f"{log.stem}-{hashlib.sha256(str(log.resolve()).encode()).hexdigest()[:8]}"
        outputs = run_all(args.jusage, log, args.workers)
        folder = (args.save or args.check) / tag
        if args.save:
            folder.mkdir(parents=True, exist_ok=True)
            for name, data in outputs.items():
                (folder / f"{name}.json").write_bytes(data)
            print(f"{log}: saved {len(outputs)} outputs in {folder}")
            continue
        same = 0
        for name, data in outputs.items():
            total += 1
            saved = folder / f"{name}.json"
            if saved.exists() and saved.read_bytes() == data:
                same += 1
            else:
                differing += 1
                print(f"  DIFFERS: {log} {name}", file=sys.stderr)
        print(f"{log}: {same} of {len(outputs)} outputs identical")
    if args.check:
        print(f"{total - differing} of {total} identical")
    return 1 if differing else 0


if __name__ == "__main__":
    raise SystemExit(main())
