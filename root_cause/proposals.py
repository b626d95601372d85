"""What a link is and how it is scored and explained; one complaint's candidates. Light: no numpy.

A link's score is ``text_weight`` times the texts' cosine similarity plus the rest times the
share of fields (product, company, category, customer) known on both sides that are equal.
Texts at least ``text_alone`` alike are linked whatever their fields say, as likely
duplicates, with the similarity as their score when it is the higher: a restatement filed
under other labels is still the same complaint. The full run (``linking``) computes the same
score with numpy for whole blocks; this module serves the paths a person waits on (``show``,
``intake``) with ``textsim``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from root_cause import textsim
from root_cause.blocking import DUPLICATE_OF, FIELDS, RELATED, LinkRecord, shared_fields


@dataclass(frozen=True)
class LinkPolicy:
    """Thresholds of the automatic linker; the defaults were tuned on the CFPB sample."""

    k: int = 5
    cap: int = 400
    #: Newest complaints of each block one complaint is compared with when it is shown or
    #: taken in (the full run compares whole blocks): enough for a restated complaint, which
    #: comes soon after the first, and few enough to compare in plain Python at once.
    recent: int = 100
    #: Newest complaints of each text key compared likewise (``textkeys``): a key shared by
    #: many texts is a common pair of words, whose older members are rarely the twin.
    text_recent: int = 25
    trees: int = 2
    #: The full run also compares every complaint with its nearest texts across all blocks
    #: (random projection trees over the whole corpus), not only within shared fields.
    text_pass: bool = True
    min_score: float = 0.6
    min_similarity: float = 0.2  # shared fields alone never make a link: the texts must be alike too
    duplicate_score: float = 0.8
    #: Texts this alike are the same complaint told again, whatever their labels: a likely
    #: duplicate even under another category, company or customer.
    text_alone: float = 0.5
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


def kind_of(value: float, similarity: float, policy: LinkPolicy) -> str:
    return DUPLICATE_OF if value >= policy.duplicate_score or similarity >= policy.text_alone else RELATED



def field_share(a: LinkRecord, b: LinkRecord) -> float:
    """The share of the fields known on both sides that are equal."""
    known = [f for f in FIELDS if getattr(a, f) and getattr(b, f)]
    return sum(getattr(a, f) == getattr(b, f) for f in known) / max(len(known), 1)


def score(similarity: float, share: float, policy: LinkPolicy) -> float:
    blended = policy.text_weight * similarity + (1 - policy.text_weight) * share
    return max(blended, similarity) if similarity >= policy.text_alone else blended


def accepted(value: float, similarity: float, policy: LinkPolicy) -> bool:
    """Shared fields alone never make a link: the texts must be alike too."""
    return (value >= policy.min_score and similarity >= policy.min_similarity) or similarity >= policy.text_alone


def explained(records: Sequence[LinkRecord], pairs: list[tuple[int, int, float, float]], policy: LinkPolicy) -> list[LinkProposal]:
    """Proposals with their evidence: shared fields, and shared words rarest first.

    Word sets are recomputed per pair rather than kept for every complaint: at 100k
    complaints holding them all would cost more memory than the vectors."""
    involved = sorted({i for i, j, _, _ in pairs} | {j for i, j, _, _ in pairs})
    df = textsim.document_frequency(textsim.words(records[i].text) for i in involved)
    return [
        LinkProposal(records[i].id, records[j].id, kind_of(value, sim, policy), round(value, 4), round(sim, 4),
                     shared_fields(records[i], records[j]),
                     tuple(textsim.shared_terms(textsim.words(records[i].text), textsim.words(records[j].text), df)))
        for i, j, value, sim in pairs
    ]



def candidates_for(record: LinkRecord, block: Sequence[LinkRecord], policy: LinkPolicy | None = None) -> list[LinkProposal]:
    """The best links of one complaint among the complaints of its blocks (fetched capped)."""
    policy = policy or LinkPolicy()
    group = [record, *(r for r in block if r.id != record.id)]
    if len(group) < 2:
        return []
    sims = textsim.similarities(group[0].text, [r.text for r in group[1:]])
    found = []
    for other, sim in zip(group[1:], sims, strict=True):
        value = score(sim, field_share(record, other), policy)
        if accepted(value, sim, policy):
            found.append((-value, other.id, other, sim, value))
    found.sort(key=lambda f: (f[0], f[1]))
    pairs = []
    for _, _, other, sim, value in found[: policy.k]:
        later, earlier = (0, group.index(other)) if record.id > other.id else (group.index(other), 0)
        pairs.append((later, earlier, value, sim))
    return explained(group, pairs, policy)
