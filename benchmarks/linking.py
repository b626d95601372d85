"""Figure 5: linking related complaints, time and peak memory as the count grows tenfold.

``root_cause.linking.link_all`` keeps at most k links per complaint, so its output grows
linearly; its time should too, near n log n (growth exponent below 1.3). The baseline is
the brute-force way, a TF-IDF (sklearn) sparse product of every complaint with every other
(top k kept per row, computed in row chunks so it fits in memory), measured at the sizes
where it finishes in reasonable time; its exponent is near 2. Every size runs in a fresh
process so that its peak memory is its own. Quality on the real CFPB sample: precision and
recall against the proxy "same Company + Issue + Sub-issue" (the data publishes no links),
and, with the issue fields blanked before linking (only product, company and the words
left), against "same Product + Issue", beside the same run without the text pass (blocks of
shared fields only, as linking was before it): what the words find on their own.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from benchmarks import data
from benchmarks.harness import Context, Figure, Measure, NotAvailable, Profile, Target
from benchmarks.probe import measure

K = 5
CHUNK = 1_000


@dataclass(frozen=True)
class Sizes:
    link: tuple[int, int]  # link_all at these counts: the exponent between them
    brute: tuple[int, int]  # brute force at these counts


SIZES: dict[Profile, Sizes] = {
    "tiny": Sizes(link=(300, 1_000), brute=(300, 1_000)),
    "quick": Sizes(link=(1_000, 5_000), brute=(1_000, 3_000)),
    "full": Sizes(link=(10_000, 100_000), brute=(2_500, 10_000)),
}


def _link_module() -> Any:
    try:
        from root_cause import linking
    except ImportError as exc:
        raise NotAvailable(f"root_cause.linking is not there yet ({exc})") from exc
    if not hasattr(linking, "link_all"):
        raise NotAvailable("root_cause.linking has no link_all yet")
    return linking


def _key(row: dict[str, str]) -> tuple[str, str, str]:
    return row["Company"], row["Issue"], row["Sub-issue"]


def _blanked_key(row: dict[str, str]) -> tuple[str, str]:
    return row["Product"], row["Issue"]


def records(rows: list[dict[str, str]], blank: bool = False) -> list[Any]:
    """Link records of the rows; ``blank``: without the issue (the complaint's category)."""
    linking = _link_module()
    return [
        linking.LinkRecord(i, row["Consumer complaint narrative"], row["Product"], row["Company"],
                           None if blank else row["Issue"])
        for i, row in enumerate(rows)
    ]


# -- jobs run in a child process by benchmarks.probe --------------------------------------------


def link_job(count: str) -> Callable[[], dict[str, Any]]:
    prepared = records(data.repeated_rows(int(count)))
    linking = _link_module()
    return lambda: {"links": len(linking.link_all(prepared, k=K))}


def brute_job(count: str) -> Callable[[], dict[str, Any]]:
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = [row["Consumer complaint narrative"] for row in data.repeated_rows(int(count))]

    def work() -> dict[str, Any]:
        x = TfidfVectorizer(sublinear_tf=True).fit_transform(texts)
        kept = 0
        for first in range(0, x.shape[0], CHUNK):
            sims = (x[first : first + CHUNK] @ x.T).toarray()
            sims[np.arange(sims.shape[0]), np.arange(first, first + sims.shape[0])] = -1.0  # not itself
            kept += np.argpartition(-sims, K, axis=1)[:, :K].size
        return {"links": kept}

    return work


# -- the figure ------------------------------------------------------------------------------------


def exponent(sizes: tuple[int, int], seconds: tuple[float, float]) -> float:
    return math.log(seconds[1] / seconds[0]) / math.log(sizes[1] / sizes[0])


def quality(blank: bool = False, **policy: Any) -> tuple[float, float, int]:
    """(precision, recall, links) of link_all on the sample against the proxy key (``blank``:
    issue fields blanked before linking, proxy "same Product + Issue")."""
    rows = list(data.cfpb_rows())
    links = _link_module().link_all(records(rows, blank), k=K, **policy)
    keys: list[tuple[str, ...]] = [_blanked_key(r) if blank else _key(r) for r in rows]
    precision = sum(keys[lk.source] == keys[lk.target] for lk in links) / len(links) if links else 0.0
    groups: dict[tuple[str, ...], int] = defaultdict(int)
    for key in keys:
        groups[key] += 1
    linked_to_same: set[int] = set()
    for lk in links:
        if keys[lk.source] == keys[lk.target]:
            linked_to_same.update((lk.source, lk.target))
    with_partner = [i for i, key in enumerate(keys) if groups[key] > 1]
    recall = sum(i in linked_to_same for i in with_partner) / len(with_partner) if with_partner else 0.0
    return precision, recall, len(links)


def run(ctx: Context) -> list[Measure]:
    _link_module()
    sizes = SIZES[ctx.profile]
    linked = [measure("benchmarks.linking:link_job", str(n)) for n in sizes.link]
    brute = [measure("benchmarks.linking:brute_job", str(n)) for n in sizes.brute]
    link_exp = exponent(sizes.link, (linked[0]["seconds"], linked[1]["seconds"]))
    brute_exp = exponent(sizes.brute, (brute[0]["seconds"], brute[1]["seconds"]))
    measures = [
        Measure(f"link_all at {n:,} complaints", r["seconds"], "s",
                note=f"peak {r['peak_mb']:,.0f} MB (input loaded: {r['before_mb']:,.0f} MB); {r['result']['links']:,} links")
        for n, r in zip(sizes.link, linked, strict=True)
    ]
    measures += [
        Measure(f"brute-force TF-IDF product at {n:,}", r["seconds"], "s",
                note=f"sklearn, top {K} per row in chunks of {CHUNK}; peak {r['peak_mb']:,.0f} MB")
        for n, r in zip(sizes.brute, brute, strict=True)
    ]
    measures.append(Measure(
        f"growth exponent of link_all, {sizes.link[0]:,} → {sizes.link[1]:,}", link_exp, "", brute_exp,
        f"brute force, {sizes.brute[0]:,} → {sizes.brute[1]:,}", Target("<=", 1.3, on="value"),
        note=f"time ∝ n^exponent; at most k={K} links per complaint",
    ))
    precision, recall, count = quality()
    proxy = "same Company + Issue + Sub-issue"
    measures += [
        Measure("precision on the CFPB sample", precision, "", note=f"share of {count:,} links whose pair is {proxy}; {data.source_name()}"),
        Measure("recall on the CFPB sample", recall, "", note=f"share of complaints with a {proxy} partner linked to one"),
    ]
    (precision, recall, count), (base_p, base_r, base_count) = quality(blank=True), quality(blank=True, text_pass=False)
    proxy, blocks = "same Product + Issue", "blocks of shared fields only (no text pass)"
    measures += [
        Measure("precision, issue fields blanked", precision, "", base_p, blocks, Target(">=", 0.65, on="value"),
                note=f"share of {count:,} links whose pair is {proxy} (baseline: {base_count:,} links)"),
        Measure("recall, issue fields blanked", recall, "", base_r, blocks, Target(">=", 1),
                note=f"share of complaints with a {proxy} partner linked to one"),
    ]
    return measures


def estimate(profile: Profile) -> float:
    sizes = SIZES[profile]
    link = sum(2 + n / 1_300 for n in sizes.link)
    brute = sum(2 + (n / 5_000) ** 2 for n in sizes.brute)
    return link + brute + 5


FIGURE = Figure("linking", "Linking: time, memory and growth", run, estimate)
