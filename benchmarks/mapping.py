"""Figure: importing through a mapping file costs no more than the native CFPB import.

The same CFPB export, imported in alternating rounds into fresh databases: natively (the
shipped ``cfpb`` mapping, chosen by the file's header) and through a mapping file a user
wrote for it, which joins columns and translates values (and, as the native one, drops the
columns it does not map: keeping them writes more, which is not the mapping's cost). Target:
the mapping's rate at least 0.9 of the native rate.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import data
from benchmarks.databases import HANDLER, fresh_app
from benchmarks.harness import Context, Figure, Measure, Profile, Round, Target, interleaved
from complaints.clock import FixedClock
from complaints.importers import ImportOptions, read_file

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SIZES: dict[Profile, tuple[int, int]] = {"tiny": (300, 1), "quick": (10_000, 1), "full": (100_000, 2)}
MAPPING = """\
name: our-cfpb-feed
unmapped: drop
fields:
  external_id: Complaint ID
  received_at: {column: Date received, dayfirst: false}
  channel:
    column: Submitted via
    values: {web: web, referral: regulator, phone: phone, postal mail: letter, fax: letter, email: email}
    otherwise: regulator
  product: Product
  sub_product: Sub-product
  company: Company
  category: Issue
  sub_category: Sub-issue
  description:
    first:
      - Consumer complaint narrative
      - join: [Issue, Sub-issue]
        with: " / "
  region: State
  language: {value: en}
"""


def _round(ctx: Context, csv_path: Path, expected: int, name: str, options: ImportOptions) -> Round:
    def prepare() -> Callable[[], object]:
        app = fresh_app(ctx.sqlite_url(f"mapping_{name}"), FixedClock(NOW))

        def work() -> None:
            report = app.intake.take_in(read_file(csv_path, options=options), HANDLER)
            app.db.dispose()
            if len(report.created) != expected:
                raise AssertionError(f"{name}: {len(report.created)} of {expected} rows stored: {report.errors[:3]}")

        return work

    return prepare


def run(ctx: Context) -> list[Measure]:
    rows, repeat = SIZES[ctx.profile]
    csv_path = data.write_cfpb_csv(ctx.workdir / "mapping.csv", rows)
    mapping = ctx.workdir / "our-cfpb-feed.yaml"
    mapping.write_text(MAPPING, encoding="utf-8")
    seconds = interleaved({
        "native": _round(ctx, csv_path, rows, "native", ImportOptions()),
        "mapped": _round(ctx, csv_path, rows, "mapped", ImportOptions(mapping=mapping)),
    }, repeat)
    return [Measure(
        f"SQLite: {rows:,} CFPB rows imported through a mapping file", rows / seconds["mapped"], "rows/s",
        rows / seconds["native"], "the native CFPB import of the same file", Target(">=", 0.9),
        note=f"{data.source_name()}; the mapping joins and translates columns, and drops the others as native does",
    )]


def estimate(profile: Profile) -> float:
    rows, repeat = SIZES[profile]
    return (repeat + 1) * 2 * (rows / 4_000 + 1)


FIGURE = Figure("mapping", "Import through a mapping beside the native CFPB import", run, estimate)
