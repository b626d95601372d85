"""Names of clusters by their top terms, so a person reads what a cluster is about. Pure.

A term's weight in a cluster is the share of the cluster's complaints that use it times its
inverse document frequency over all the clustered complaints: words every cluster uses (and
stop words of the complaints' languages) fall away, the words of this problem stay.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping

from root_cause import textsim
from root_cause.textkeys import stop_stems

TERMS = 3


def cluster_names(clusters: Mapping[str, set[int]], texts: Mapping[int, tuple[str, str | None]],
                  terms: int = TERMS) -> dict[str, str]:
    """Cluster key -> its top terms joined with ", " (``texts``: id -> (text, language))."""
    words = {}
    for cid, (text, language) in texts.items():
        stop = stop_stems(language)
        words[cid] = {w for w in textsim.words(text) if w not in stop}
    df = textsim.document_frequency(words.values())
    total = len(words)
    names = {}
    for key, members in clusters.items():
        inside = Counter(w for m in members if m in words for w in words[m])
        size = max(len(members), 1)
        ranked = sorted(inside, key=lambda w: (-(inside[w] / size) * math.log((1 + total) / (1 + df[w])), w))
        names[key] = ", ".join(ranked[:terms]) or key
    return names
