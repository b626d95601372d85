"""Properties of reading any file: reading never raises anything but a ComplaintflowError;
every record comes back once, in order, as a complaint or as the error refusing its row; a
row holding a NUL, a byte not in the encoding or a cut-off quote is refused; and nothing is
stored for a refused row."""

from __future__ import annotations

import csv
import io
import json
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from complaintflow.bootstrap import App
from complaints.errors import ComplaintflowError, ImportRowError, InvalidInput
from complaints.importers import ImportOptions, read_file
from complaints.schemas import ComplaintIn
from complaints.steps import Actor

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

cell = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]) | st.sampled_from('",\r\n\x00; é'),
               max_size=25)
BAD_BYTE = "\udcff"  # written as the byte 0xFF, which no UTF-8 text holds


def read_all(path: Path, **options: str) -> list[tuple[int, ComplaintIn | ImportRowError]]:
    """Every record of ``path``; fails the property on any exception but ours."""
    try:
        return list(read_file(path, options=ImportOptions(**options)))
    except ComplaintflowError:
        return []


@FAST
@given(data=st.binary(max_size=300), suffix=st.sampled_from([".csv", ".json", ".jsonl", ".xlsx", ".txt"]))
def test_any_bytes_are_read_or_refused_with_our_error_never_another(tmp_path: Path, data: bytes, suffix: str) -> None:
    path = tmp_path / f"random{suffix}"
    path.write_bytes(data)
    for _, item in read_all(path):
        assert isinstance(item, ComplaintIn | ImportRowError)


json_value = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | cell,
                          lambda inner: st.lists(inner, max_size=3) | st.dictionaries(cell, inner, max_size=3),
                          max_leaves=12)
json_item = st.fixed_dictionaries({}, optional={"product": cell, "description": cell, "received_at": cell,
                                                "channel": cell, "customer": json_value, "external_id": cell})


@FAST
@given(items=st.lists(json_item | json_value, max_size=5), lines=st.booleans())
def test_random_json_items_each_come_back_as_a_complaint_or_the_error_refusing_it(
    tmp_path: Path, items: list[object], lines: bool
) -> None:
    path = tmp_path / ("items.jsonl" if lines else "items.json")
    path.write_text("\n".join(json.dumps(i) for i in items) if lines else json.dumps(items), encoding="utf-8")
    rows = read_all(path)
    numbers = [n for n, _ in rows]
    assert numbers == sorted(set(numbers)) and len(rows) <= len(items)
    if not lines:
        assert len(rows) == len(items)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> App:
    """One database for every example: each stores under ids of its own."""
    from conftest import T0, make_app

    from complaints.clock import FixedClock

    return make_app(f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'fuzz.db'}", FixedClock(T0))


@FAST
@given(cells=st.lists(st.tuples(cell, cell), min_size=1, max_size=6),
       bad=st.sets(st.integers(0, 5), max_size=2), cut=st.booleans())
def test_random_cells_come_back_as_written_or_refused_and_refused_rows_are_never_stored(
    shared: App, tmp_path: Path, cells: list[tuple[str, str]], bad: set[int], cut: bool
) -> None:
    prefix = uuid.uuid4().hex[:8]
    written = [[f"{prefix}-{i}", product, description + (BAD_BYTE if i in bad else "")]
               for i, (product, description) in enumerate(cells)]
    if cut:
        written[-1][2] = "cut, " + written[-1][2]  # quoted: a comma
    out = io.StringIO()
    csv.writer(out).writerows([["external_id", "product", "description"], *written])
    data = out.getvalue().encode("utf-8", "surrogateescape")
    if cut:  # an upload that stopped inside the last row's quoted description
        data = data[: data.rindex(b'"cut, ') + 4]
    path = tmp_path / "cells.csv"
    path.write_bytes(data)
    try:  # with --encoding: a lone 0xFF alone would be a legacy code page's letter
        rows = list(read_file(path, options=ImportOptions(encoding="utf-8")))
    except InvalidInput as exc:  # control characters by the dozen: no text file, refused whole
        assert "not a text file" in str(exc)
        return
    assert [n for n, _ in rows] == list(range(2, len(written) + 2))
    for (row, item), (external_id, product, description) in zip(rows, written, strict=True):
        broken = "\x00" in product + description or BAD_BYTE in description or (cut and row == len(written) + 1)
        if isinstance(item, ComplaintIn):
            assert not broken and (item.external_id, item.product, item.description) == (
                external_id, product.strip(), description.strip()), row
        else:
            assert isinstance(item, ImportRowError) and item.row == row
    report = shared.intake.take_in(rows, Actor("hana", "handler"))
    refused = {n for n, item in rows if isinstance(item, ImportRowError)}
    assert {n for n, _ in report.errors} >= refused
    assert not refused & {n for n, _ in report.created}
