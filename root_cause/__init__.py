"""Root causes: link related complaints, build the root-cause graph, detect recurrence, track CAPAs.

Pure rules: ``taxonomy``, ``blocking``, ``textsim`` and ``proposals`` (light: what a person
waits on), ``similarity`` and ``linking`` (the full run, with numpy and scikit-learn),
``graph``, ``recurrence``, ``capa``. Persistence: ``models`` and ``repository``. Use cases:
``services`` (linking, candidates, link decisions), ``analysis`` (recurrence, graph, report),
``capa_service`` and ``nightly``. Edges: ``observer`` (the workflow hook), ``export``,
``chart``. Heavy libraries load only on the paths that need them.
"""
