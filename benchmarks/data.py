"""Benchmark input: the real CFPB sample, repeated to any size, or synthetic rows without it.

Repeated rows get fresh Complaint IDs, so intake stores every one of them (intake is
idempotent on the external id and would otherwise skip the copies).
"""

from __future__ import annotations

import csv
import random
from functools import cache
from itertools import cycle, islice
from pathlib import Path

CFPB_SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "cfpb_payday_loans_2023.csv"
CFPB_COLUMNS = (
    "Date received", "Product", "Sub-product", "Issue", "Sub-issue", "Consumer complaint narrative",
    "Company public response", "Company", "State", "ZIP code", "Tags", "Consumer consent provided?",
    "Submitted via", "Date sent to company", "Company response to consumer", "Timely response?",
    "Consumer disputed?", "Complaint ID",
)
_WORDS = (
    "loan fee interest charged payment late account balance refund call told paid title car "
    "lender bank debit twice collection credit report rate offer contract cancel stop email"
).split()


def source_name() -> str:
    return str(CFPB_SAMPLE) if CFPB_SAMPLE.is_file() else "synthetic rows (CFPB sample absent)"


@cache
def cfpb_rows() -> tuple[dict[str, str], ...]:
    """The CFPB sample's rows, or synthetic rows of the same shape when the file is absent."""
    if CFPB_SAMPLE.is_file():
        with CFPB_SAMPLE.open(newline="", encoding="utf-8-sig") as fh:
            return tuple(csv.DictReader(fh))
    return tuple(_synthetic(2_000))


def _synthetic(count: int) -> list[dict[str, str]]:
    rng = random.Random(7)
    companies = [f"Lender {c}" for c in "ABCDEFGHIJ"]
    issues = [f"Issue {i}" for i in range(12)]
    rows = []
    for number in range(count):
        issue = rng.choice(issues)
        text = " ".join(rng.choices(_WORDS, k=rng.randint(20, 120)))
        rows.append({
            **dict.fromkeys(CFPB_COLUMNS, "None"),
            "Date received": f"{rng.randint(1, 8):02d}/{rng.randint(1, 28):02d}/23",
            "Product": "Payday loan, title loan, or personal loan", "Sub-product": "Installment loan",
            "Issue": issue, "Sub-issue": f"{issue} detail {rng.randint(0, 2)}",
            "Consumer complaint narrative": f"{issue}. {text}", "Company": rng.choice(companies),
            "State": "TX", "Submitted via": "Web", "Complaint ID": str(number + 1),
        })
    return rows


def repeated_rows(count: int) -> list[dict[str, str]]:
    """``count`` rows cycling through the sample, each with a fresh Complaint ID."""
    rows = []
    for number, row in enumerate(islice(cycle(cfpb_rows()), count), start=1):
        rows.append({**row, "Complaint ID": f"B{number:08d}"})
    return rows


def write_cfpb_csv(path: Path, count: int) -> Path:
    """A CFPB-format export of ``count`` rows, for the real importer to read."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(CFPB_COLUMNS), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(repeated_rows(count))
    return path
