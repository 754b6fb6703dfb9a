"""A state machine over what happens to ledgers: appends, imports, prunes, truncation,
replacement, damaged checkpoints and reports over several logs. After every step, every
report read with checkpoints equals a report read from scratch on the events that survive."""

from __future__ import annotations

import shutil
import tempfile
from datetime import UTC, date
from pathlib import Path

import orjson
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from jusage.aggregate import Aggregator, Table, rollup
from jusage.costing import Coster
from jusage.events import Event
from jusage.logset import aggregate_logs, table_of_logs
from jusage.pricing import Pricer, Rates
from jusage.retention import prune_log
from jusage.store import Store
from jusage.views.reports import period_report, report_to_json, session_report
from jusage.views.stats import stats_view

T0 = 1_767_225_600
DAY = 86_400
PRICER = Pricer({"m*": Rates(1_000_000, 2_000_000, 100_000, 1_250_000, 2_000_000)})
LOGS = 3


def priced(paths: list[Path], agg: Aggregator, checkpoint: bool) -> Table:
    """With checkpoints, the priced tables they keep; without, a fresh read priced anew."""
    if checkpoint:
        return table_of_logs(paths, agg, checkpoint=True)
    return rollup(aggregate_logs(paths, agg, checkpoint=False), agg)


def reports(paths: list[Path], checkpoint: bool) -> bytes:
    """Every report of the logs, as one byte string."""
    out = []
    for dims, build in (
        (("model", "project"), lambda t: report_to_json(period_report(t, "daily"))),
        (("session", "project", "model"), lambda t: report_to_json(session_report(t, tz=UTC))),
    ):
        agg = Aggregator(dims, tz=UTC, coster=Coster(PRICER, "auto"))
        out.append(build(priced(paths, agg, checkpoint)))
        out.append(build(rollup(aggregate_logs(paths, agg, checkpoint=checkpoint), agg)))
    agg = Aggregator(("model", "project"), tz=UTC, coster=Coster(PRICER, "calculate"))
    stats = stats_view(priced(paths, agg, checkpoint), date(2026, 3, 1))
    out.append({"turns": stats.totals.turns, "cost": stats.totals.cost_pico, "days": sorted(stats.days)})
    return orjson.dumps(out)


@settings(max_examples=25, stateful_step_count=25, deadline=None, suppress_health_check=list(HealthCheck))
class Ledgers(RuleBasedStateMachine):
    """Three logs in one folder, read alone and together."""

    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp())
        self.paths = [self.folder / f"log{i}.jsonl" for i in range(LOGS)]
        self.counter = 0

    def teardown(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def _event(self, day: int, shared: int | None, model: str) -> Event:
        self.counter += 1
        ident = f"shared-{shared}" if shared is not None else f"own-{self.counter}"
        return Event(
            ts=T0 + day * DAY + self.counter,
            model=model,
            project=f"/p{self.counter % 2}",
            session=f"s{self.counter % 3}",
            prompt=100 + self.counter,
            cached=10,
            completion=5,
            id=ident,
            cost_usd=0.5 if self.counter % 7 == 0 else None,
        )

    @rule(
        which=st.integers(0, LOGS - 1),
        days=st.lists(st.integers(0, 40), min_size=1, max_size=8),
        shared=st.none() | st.integers(0, 5),
        model=st.sampled_from(["m1", "m2", "unknown"]),
    )
    def append(self, which: int, days: list[int], shared: int | None, model: str) -> None:
        Store(self.paths[which]).record_many(self._event(d, shared, model) for d in days)

    @rule(which=st.integers(0, LOGS - 1))
    def import_a_copy(self, which: int) -> None:
        """Another machine's log lands in the folder (the same events, copied over)."""
        source = self.paths[(which + 1) % LOGS]
        if source.exists():
            shutil.copyfile(source, self.paths[which])

    @precondition(lambda self: any(p.exists() for p in self.paths))
    @rule(which=st.integers(0, LOGS - 1), cutoff_day=st.integers(0, 40))
    def prune(self, which: int, cutoff_day: int) -> None:
        if self.paths[which].exists():
            prune_log(self.paths[which], cutoff=T0 + cutoff_day * DAY)

    @rule(which=st.integers(0, LOGS - 1), keep=st.integers(0, 5))
    def truncate(self, which: int, keep: int) -> None:
        """The log loses lines at its end (restored from an older backup)."""
        path = self.paths[which]
        if path.exists():
            lines = path.read_bytes().splitlines(keepends=True)
            path.write_bytes(b"".join(lines[:keep]))

    @rule(which=st.integers(0, LOGS - 1))
    def remove(self, which: int) -> None:
        self.paths[which].unlink(missing_ok=True)

    @rule(garbage=st.binary(max_size=40))
    def damage_checkpoints(self, garbage: bytes) -> None:
        from jusage.locations import cache_dir

        for ckpt in cache_dir().glob("*.checkpoint"):
            ckpt.write_bytes(garbage)

    @rule(which=st.integers(0, LOGS - 1))
    def torn_line(self, which: int) -> None:
        with self.paths[which].open("ab") as fh:
            fh.write(b'{"ts": 5, "pro')

    @invariant()
    def checkpoints_agree_with_a_fresh_read(self) -> None:
        for paths in ([self.paths[0]], self.paths[:2], self.paths):
            assert reports(paths, checkpoint=True) == reports(paths, checkpoint=False)


TestLedgers = Ledgers.TestCase
