"""The search benchmark figure runs at tiny size on a real index. No timing is asserted: the
figure compares itself with the bare query of its index."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from benchmarks import search as figure
from benchmarks.harness import Context
from complaintflow.bootstrap import build
from complaintflow.settings import Settings
from complaints.clock import FixedClock
from complaints.search import SearchQuery, search_complaints


def test_the_figure_times_search_beside_the_bare_index_query_over_the_complaints_it_made(tmp_path: Path) -> None:
    sqlite, postgres = figure.run(Context("tiny", tmp_path))
    assert sqlite.name == "SQLite: search at 500 complaints"
    assert sqlite.value and sqlite.baseline and sqlite.target is not None and sqlite.met in (True, False)
    assert postgres.value is None and "skipped" in postgres.note
    app = build(Settings(database_url=f"sqlite:///{tmp_path / 'search.db'}"), clock=FixedClock(figure.NOW))
    try:
        everything = search_complaints(app.db, SearchQuery(), lambda name, version: True)
        [(common, _)] = Counter(figure.vocabulary()).most_common(1)
        found = search_complaints(app.db, SearchQuery(text=common), lambda name, version: True)
    finally:
        app.db.dispose()
    assert everything.total == 500 and 0 < found.total <= 500
