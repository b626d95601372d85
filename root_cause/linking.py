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

:func:`candidates_for` does the same for one new complaint against the blocks fetched for it
from the database (indexed, capped queries), so intake never triggers a full re-link.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

from root_cause import similarity
from root_cause.blocking import (
    DUPLICATE_OF, FIELDS, FIXED_BY, LINK_KINDS, RELATED, SAME_ROOT_CAUSE, LinkRecord, blocking_keys, shared_fields,
)

__all__ = ["DUPLICATE_OF", "FIXED_BY", "LINK_KINDS", "RELATED", "SAME_ROOT_CAUSE", "LinkPolicy", "LinkProposal",
           "LinkRecord", "blocking_keys", "candidates_for", "link_all"]

@dataclass(frozen=True)
class LinkPolicy:
    """Thresholds of the automatic linker; the defaults were tuned on the CFPB sample."""

    k: int = 5
    cap: int = 400
    trees: int = 2
    min_score: float = 0.6
    min_similarity: float = 0.2  # shared fields alone never make a link: the texts must be alike too
    duplicate_score: float = 0.8
    text_weight: float = 0.5  # score = text_weight * cosine + (1 - text_weight) * shared-field share
    seed: int = 20261123


@dataclass(frozen=True)
class LinkProposal:
    """An automatic link: ``source`` (later complaint) -> ``target`` (earlier), and why."""

    source: int
    target: int
    kind: str
    score: float
    similarity: float
    shared_fields: tuple[str, ...] = ()
    shared_terms: tuple[str, ...] = ()

    @property
    def pair(self) -> tuple[int, int]:
        return (self.source, self.target)

    @property
    def evidence(self) -> dict[str, object]:
        return {"text_similarity": round(self.similarity, 4), "shared_fields": list(self.shared_fields),
                "shared_terms": list(self.shared_terms)}


def score(similarity_: float, a: LinkRecord, b: LinkRecord, policy: LinkPolicy) -> tuple[float, tuple[str, ...]]:
    """Text similarity weighted with the share of known fields the two complaints have in common."""
    shared = shared_fields(a, b)
    known = sum(1 for f in FIELDS if getattr(a, f) and getattr(b, f)) or 1
    value = policy.text_weight * similarity_ + (1 - policy.text_weight) * len(shared) / known
    return float(value), shared


def kind_of(value: float, policy: LinkPolicy) -> str:
    return DUPLICATE_OF if value >= policy.duplicate_score else RELATED


# -- full run ------------------------------------------------------------------------------


@dataclass
class _Best:
    """Candidate pairs collected from every leaf; reduced to top-k per complaint at the end."""

    rows: list[np.ndarray] = field(default_factory=list)
    cols: list[np.ndarray] = field(default_factory=list)
    sims: list[np.ndarray] = field(default_factory=list)

    def add(self, leaf: np.ndarray, sims: np.ndarray, k: int, floor: float) -> None:
        np.fill_diagonal(sims, -1.0)
        kk = min(k, len(leaf) - 1)
        if kk <= 0:
            return
        top = np.argpartition(-sims, kk - 1, axis=1)[:, :kk]
        vals = np.take_along_axis(sims, top, axis=1)
        keep = vals >= floor
        self.rows.append(np.repeat(leaf, kk).reshape(len(leaf), kk)[keep])
        self.cols.append(leaf[top][keep])
        self.sims.append(vals[keep])

    def top_k(self, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if not self.rows:
            empty = np.array([], dtype=np.int64)
            return empty, empty, np.array([], dtype=np.float32)
        r, c, s = (np.concatenate(x) for x in (self.rows, self.cols, self.sims))
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
        return r[keep], c[keep], s[keep]


def _leaves(members: np.ndarray, proj: np.ndarray, cap: int, depth: int = 0) -> list[np.ndarray]:
    """Split ``members`` at the median of successive projections until each part fits ``cap``."""
    if len(members) <= cap or depth >= proj.shape[1]:
        return [members]
    values = proj[members, depth]
    order = np.argsort(values, kind="stable")
    half = len(members) // 2
    return _leaves(members[order[:half]], proj, cap, depth + 1) + _leaves(members[order[half:]], proj, cap, depth + 1)


def _projections(x: sparse.csr_matrix, depth: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    directions = rng.standard_normal((x.shape[1], depth), dtype=np.float32)
    return np.asarray(x @ directions)


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
    x = similarity.vectors([r.text for r in records])
    blocks: dict[str, list[int]] = {}
    for i, r in enumerate(records):
        for key in blocking_keys(r):
            blocks.setdefault(key, []).append(i)
    groups = [np.asarray(m, dtype=np.int64) for m in blocks.values() if len(m) > 1]
    depth = max(1, int(np.ceil(np.log2(max(n / policy.cap, 2)))) + 1)
    projections = [_projections(x, depth, policy.seed + t) for t in range(policy.trees)]
    floor = max(policy.min_similarity, (policy.min_score - (1 - policy.text_weight)) / policy.text_weight)
    best = _Best()
    for done, members in enumerate(groups, start=1):
        trees = projections if len(members) > policy.cap else projections[:1]
        for proj in trees:
            for leaf in _leaves(members, proj, policy.cap):
                if len(leaf) > 1:
                    sub = x[leaf]
                    best.add(leaf, (sub @ sub.T).toarray(), policy.k * 2, floor)
        if progress:
            progress(done, len(groups))
    rows, cols, sims = best.top_k(policy.k * 2)  # scored below; fields may reorder them
    return _proposals(records, rows, cols, sims, policy)


def _proposals(records: Sequence[LinkRecord], rows: np.ndarray, cols: np.ndarray, sims: np.ndarray, policy: LinkPolicy) -> list[LinkProposal]:
    scored: dict[int, list[tuple[float, int, float, tuple[str, ...]]]] = {}
    for i, j, s in zip(rows.tolist(), cols.tolist(), sims.tolist(), strict=True):
        value, shared = score(s, records[i], records[j], policy)
        if value >= policy.min_score and s >= policy.min_similarity:
            scored.setdefault(i, []).append((value, j, s, shared))
    best: dict[tuple[int, int], tuple[float, float, tuple[str, ...]]] = {}
    for i, items in scored.items():
        for value, j, s, shared in items:
            a, b = (i, j) if records[i].id > records[j].id else (j, i)
            if (a, b) not in best or best[(a, b)][0] < value:
                best[(a, b)] = (value, s, shared)
    # Greedy by score with a degree cap: every complaint ends with at most k links in all,
    # counting the links other complaints chose to it, so hubs can't collect hundreds.
    degree: Counter[int] = Counter()
    pairs: dict[tuple[int, int], tuple[float, float, tuple[str, ...]]] = {}
    for (a, b), value in sorted(best.items(), key=lambda kv: (-kv[1][0], kv[0])):
        if degree[a] < policy.k and degree[b] < policy.k:
            pairs[(a, b)] = value
            degree[a] += 1
            degree[b] += 1
    word_sets: dict[int, set[str]] = {}
    for a, b in pairs:
        for idx in (a, b):
            if idx not in word_sets:
                word_sets[idx] = similarity.words(records[idx].text)
    df = similarity.document_frequency(word_sets.values())
    return [
        LinkProposal(records[a].id, records[b].id, kind_of(value, policy), round(value, 4), round(s, 4), shared,
                     tuple(similarity.shared_terms(word_sets[a], word_sets[b], df)))
        for (a, b), (value, s, shared) in sorted(pairs.items(), key=lambda kv: (-kv[1][0], kv[0]))
    ]


# -- one complaint ----------------------------------------------------------------------------


def candidates_for(record: LinkRecord, block: Sequence[LinkRecord], policy: LinkPolicy | None = None) -> list[LinkProposal]:
    """The best links of one complaint among the complaints of its blocks (fetched capped)."""
    policy = policy or LinkPolicy()
    others = [r for r in block if r.id != record.id]
    if not others:
        return []
    x = similarity.vectors([record.text] + [r.text for r in others])
    sims = np.asarray((x[1:] @ x[0].T).toarray()).ravel()
    scored = []
    for other, s in zip(others, sims.tolist(), strict=True):
        value, shared = score(s, record, other, policy)
        if value >= policy.min_score and s >= policy.min_similarity:
            scored.append((value, s, shared, other))
    scored.sort(key=lambda t: (-t[0], t[3].id))
    mine = similarity.words(record.text)
    df: Counter[str] = Counter()
    theirs = {o.id: similarity.words(o.text) for _, _, _, o in scored[: policy.k]}
    df.update(w for ws in theirs.values() for w in ws)
    return [
        LinkProposal(max(record.id, other.id), min(record.id, other.id), kind_of(value, policy), round(value, 4),
                     round(s, 4), shared, tuple(similarity.shared_terms(mine, theirs[other.id], df)))
        for value, s, shared, other in scored[: policy.k]
    ]
