"""``python -m benchmarks [--quick] [--only a,b] [--pg-url URL] [--compare FILE [FILE]] [--json]``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from rich.console import Console

from benchmarks.harness import PROFILES
from benchmarks.report import comparison, load, render, write
from benchmarks.runner import FIGURE_KEYS, estimate, run

RESULTS = Path(__file__).parent / "results"
PG_ENV = "COMPLAINTS_BENCH_POSTGRES_URL"


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="complaintflow benchmarks: each figure beside a baseline measured in the same run.",
    )
    parser.add_argument("--quick", action="store_true", help="reduced sizes, about a minute")
    parser.add_argument("--profile", choices=PROFILES, help="sizes (default: full; --quick = quick)")
    parser.add_argument("--only", default=",".join(FIGURE_KEYS), help=f"comma-separated figures ({', '.join(FIGURE_KEYS)})")
    parser.add_argument("--pg-url", default=os.environ.get(PG_ENV),
                        help=f"PostgreSQL URL (env {PG_ENV}); a scratch database: its schema public is DROPPED. "
                             "PostgreSQL figures are skipped without it")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for the result JSON (default benchmarks/results)")
    parser.add_argument("--compare", type=Path, nargs="+", metavar="FILE",
                        help="compare this run with FILE; with two files, compare them without running")
    parser.add_argument("--json", action="store_true", help="also print the result document as JSON")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    console = Console(width=None if sys.stdout.isatty() else 170)
    if args.compare and len(args.compare) > 2:
        console.print("[red]--compare takes one file (compare with a new run) or two (compare them)[/]")
        return 2
    try:
        previous = [load(p) for p in args.compare or []]
    except (OSError, ValueError) as exc:
        console.print(f"[red]{exc}[/]")
        return 2
    if len(previous) == 2:
        console.print(comparison(previous[0], previous[1]))
        return 0
    profile = args.profile or ("quick" if args.quick else "full")
    keys = [k.strip() for k in args.only.split(",") if k.strip()]
    try:
        seconds = estimate(profile, keys)
    except ValueError as exc:
        console.print(f"[red]{exc}[/]")
        return 2
    console.print(f"Running {len(keys)} figure(s) at '{profile}' sizes: about {seconds / 60:.0f} min "
                  f"({seconds:.0f} s) on an otherwise idle machine. PostgreSQL: {'yes' if args.pg_url else f'no (set {PG_ENV} or --pg-url)'}")
    doc = run(profile, keys, args.pg_url, log=lambda line: console.print(line, markup=False, highlight=False))
    path = write(doc, args.out)
    render(doc, console)
    if previous:
        console.print(comparison(previous[0], doc))
    if args.json:
        print(json.dumps(doc, indent=2))
    console.print(f"results written to {path}")
    failed = [f["key"] for f in doc["figures"] if f["status"] == "failed"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
