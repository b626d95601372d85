"""Finding related complaints: blocking + character n-gram similarity + top-k. Pure, no I/O.

Design (why it does not compare all pairs):

1. **Blocking.** Only complaints that share a blocking key are compared: the same customer
   pseudonym, the same company and category, the same product and category, the same product
   and company. A complaint belongs to at most four blocks.
2. **Capped blocks.** A block larger than ``cap`` (a big company, a product everyone buys) is
   split recursively at the median of a random projection of the TF-IDF vectors (a random
   projection tree), so similar texts land in the same leaf. Leaves hold at most ``cap``
   complaints; ``trees`` independent trees give a missed neighbour another chance. Splitting
   costs O(n log n); comparing inside leaves costs O(n * cap). So a full run grows close to
   n log n, not n squared.
3. **Top-k.** Each complaint keeps at most ``k`` links above ``min_score`` (pairs accepted
   best first while both ends have fewer than ``k``), each stored once from the later
   complaint to the earlier one, with its evidence (text similarity, shared fields, shared
   terms). So a run stores at most n * k / 2 links.

Its growth, memory and quality on the CFPB sample are a benchmark figure
(``python -m benchmarks --only linking``; benchmarks/README.md).

:func:`root_cause.proposals.candidates_for` does the same for one complaint against the
newest members of its blocks, without numpy, so intake and ``show`` never trigger a re-link.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from root_cause import similarity
from root_cause.blocking import FIELDS, LinkRecord, blocking_keys
from root_cause.proposals import LinkPolicy, LinkProposal, explained

__all__ = ["LinkPolicy", "LinkProposal", "LinkRecord", "link_all"]

# -- full run ------------------------------------------------------------------------------


@dataclass
class _Best:
    """Candidate pairs collected from every leaf, ranked by their score (fields included, so a
    pair of alike texts from another block can't push out a pair that shares fields);
    reduced to top-k per complaint at the end."""

    rows: list[np.ndarray] = field(default_factory=list)
    cols: list[np.ndarray] = field(default_factory=list)
    values: list[np.ndarray] = field(default_factory=list)

    def add(self, leaf: np.ndarray, values: np.ndarray, k: int) -> None:
        np.fill_diagonal(values, -1.0)
        kk = min(k, len(leaf) - 1)
        if kk <= 0:
            return
        top = np.argpartition(-values, kk - 1, axis=1)[:, :kk]
        vals = np.take_along_axis(values, top, axis=1)
        keep = vals >= 0
        self.rows.append(np.repeat(leaf.astype(np.int32), kk).reshape(len(leaf), kk)[keep])
        self.cols.append(leaf[top][keep].astype(np.int32))
        self.values.append(vals[keep].astype(np.float32))

    def top_k(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        if not self.rows:
            empty = np.array([], dtype=np.int64)
            return empty, empty
        r, c, s = (np.concatenate(x) for x in (self.rows, self.cols, self.values))
        order = np.lexsort((-s, c, r))  # by row, then column, best first
        r, c, s = r[order], c[order], s[order]
        first = np.ones(len(r), dtype=bool)
        first[1:] = (r[1:] != r[:-1]) | (c[1:] != c[:-1])  # drop the same pair seen in two leaves
        r, c, s = r[first], c[first], s[first]
        order = np.lexsort((-s, r))
        r, c, s = r[order], c[order], s[order]
        starts = np.r_[0, np.flatnonzero(r[1:] != r[:-1]) + 1]
        rank = np.arange(len(r)) - np.repeat(starts, np.diff(np.r_[starts, len(r)]))
        keep = rank < k
        return r[keep], c[keep]


def _leaf_values(codes: np.ndarray, leaf: np.ndarray, sims: np.ndarray, policy: LinkPolicy) -> np.ndarray:
    """Each pair's score within a leaf, -1 where the pair would not be linked."""
    f = codes[:, leaf]
    a, b = f[:, :, None], f[:, None, :]
    known = ((a >= 0) & (b >= 0)).sum(axis=0)
    shared = ((a == b) & (a >= 0)).sum(axis=0)
    values = _score(sims, shared / np.maximum(known, 1), policy)
    return np.where(_accepted(values, sims, policy), values, -1.0)


def _leaves(members: np.ndarray, proj: np.ndarray, cap: int, depth: int = 0) -> list[np.ndarray]:
    """Split ``members`` at the median of successive projections until each part fits ``cap``."""
    if len(members) <= cap or depth >= proj.shape[1]:
        return [members]
    values = proj[members, depth]
    order = np.argsort(values, kind="stable")
    half = len(members) // 2
    return _leaves(members[order[:half]], proj, cap, depth + 1) + _leaves(members[order[half:]], proj, cap, depth + 1)


def _projections(x: similarity.Vectors, depth: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return x.project(rng.standard_normal((similarity.N_FEATURES, depth), dtype=np.float32))


def link_all(
    records: Sequence[LinkRecord],
    policy: LinkPolicy | None = None,
    progress: Callable[[int, int], None] | None = None,
    **overrides: float,
) -> list[LinkProposal]:
    """The k best links of every complaint (pure, in memory). ``k=``/``cap=`` etc. override the policy.

    ``progress(done, total)`` is told how many blocks have been compared.
    """
    policy = policy or LinkPolicy()
    if overrides:
        policy = LinkPolicy(**{**policy.__dict__, **overrides})  # type: ignore[arg-type]
    n = len(records)
    if n < 2:
        return []
    x = similarity.Vectors([r.text for r in records])
    codes = field_codes(records)
    blocks: dict[str, list[int]] = {}
    for i, r in enumerate(records):
        for key in blocking_keys(r):
            blocks.setdefault(key, []).append(i)
    groups = [np.asarray(m, dtype=np.int64) for m in blocks.values() if len(m) > 1]
    if policy.text_pass:
        groups.append(np.arange(n, dtype=np.int64))  # every complaint: the text alone decides
    depth = max(1, int(np.ceil(np.log2(max(n / policy.cap, 2)))) + 1)
    projections = [_projections(x, depth, policy.seed + t) for t in range(policy.trees)]
    best = _Best()
    for done, members in enumerate(groups, start=1):
        trees = projections if len(members) > policy.cap else projections[:1]
        for proj in trees:
            for leaf in _leaves(members, proj, policy.cap):
                if len(leaf) > 1:
                    ordered, sub = x.rows(leaf)
                    best.add(ordered, _leaf_values(codes, ordered, (sub @ sub.T).toarray(), policy), policy.k * 2)
        if progress:
            progress(done, len(groups))
    rows, cols = best.top_k(policy.k * 2)
    sims = x.pair_similarities(rows, cols)
    del x, projections  # the vectors are the biggest thing held; free them before the evidence
    return _proposals(records, codes, rows, cols, sims, policy)


def field_codes(records: Sequence[LinkRecord]) -> np.ndarray:
    """Each field of each record as an integer (-1: unknown), so shared fields are array compares."""
    out = np.full((len(FIELDS), len(records)), -1, dtype=np.int32)
    for f, name in enumerate(FIELDS):
        codes: dict[str, int] = {}
        for i, record in enumerate(records):
            value = getattr(record, name)
            if value:
                out[f, i] = codes.setdefault(value, len(codes))
    return out


def _score(sims: np.ndarray, share: np.ndarray, policy: LinkPolicy) -> np.ndarray:
    """:func:`root_cause.proposals.score` on arrays."""
    blended = policy.text_weight * sims + (1 - policy.text_weight) * share
    return np.where(sims >= policy.text_alone, np.maximum(blended, sims), blended)


def _accepted(values: np.ndarray, sims: np.ndarray, policy: LinkPolicy) -> np.ndarray:
    """:func:`root_cause.proposals.accepted` on arrays."""
    return ((values >= policy.min_score) & (sims >= policy.min_similarity)) | (sims >= policy.text_alone)


def scores(codes: np.ndarray, rows: np.ndarray, cols: np.ndarray, sims: np.ndarray, policy: LinkPolicy) -> np.ndarray:
    """Text similarity weighted with the share of fields known on both sides that are equal."""
    a, b = codes[:, rows], codes[:, cols]
    known = ((a >= 0) & (b >= 0)).sum(axis=0)
    shared = ((a == b) & (a >= 0)).sum(axis=0)
    return _score(sims, shared / np.maximum(known, 1), policy)


def _proposals(records: Sequence[LinkRecord], codes: np.ndarray, rows: np.ndarray, cols: np.ndarray, sims: np.ndarray,
               policy: LinkPolicy) -> list[LinkProposal]:
    values = scores(codes, rows, cols, sims, policy)
    keep = _accepted(values, sims, policy)
    rows, cols, sims, values = rows[keep], cols[keep], sims[keep], values[keep]
    ids = np.fromiter((r.id for r in records), dtype=np.int64, count=len(records))
    later = ids[rows] > ids[cols]
    a, b = np.where(later, rows, cols), np.where(later, cols, rows)
    order = np.lexsort((b, a, -values))  # best first; ties by pair, so runs are reproducible
    # Greedy by score with a degree cap: every complaint ends with at most k links in all,
    # counting the links other complaints chose to it, so hubs can't collect hundreds.
    degree: Counter[int] = Counter()
    pairs: dict[tuple[int, int], tuple[float, float]] = {}
    for i, j, value, sim in zip(a[order].tolist(), b[order].tolist(), values[order].tolist(), sims[order].tolist(), strict=True):
        if (i, j) not in pairs and degree[i] < policy.k and degree[j] < policy.k:
            pairs[(i, j)] = (value, sim)
            degree[i] += 1
            degree[j] += 1
    return explained(records, [(i, j, value, sim) for (i, j), (value, sim) in pairs.items()], policy)
