"""Root causes: link related complaints, build the root-cause graph, detect recurrence, track CAPAs.

Pure rules: ``taxonomy``, ``blocking``, ``similarity``, ``linking``, ``graph``, ``recurrence``,
``capa``. Persistence: ``models`` and ``repository``. Use cases: ``services`` (linking,
candidates, link decisions, ``nightly``), ``analysis`` (recurrence, graph, report) and
``capa_service``. Edges: ``observer`` (the workflow hook), ``export``, ``chart``, ``flows``.
Heavy libraries (numpy, scikit-learn, matplotlib) load only on the paths that need them.
"""

__all__ = ["LinkPolicy", "LinkRecord", "link_all"]


def __getattr__(name: str) -> object:
    """``from root_cause import link_all`` without importing numpy for every user of the package."""
    if name in __all__:
        from root_cause import linking

        return getattr(linking, name)
    raise AttributeError(f"module 'root_cause' has no attribute {name!r}")
