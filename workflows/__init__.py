"""Declarative workflows: a YAML definition -> pydantic model -> checked, compiled workflow.

``definition`` and ``sla_spec`` (the language), ``loader`` and ``checks`` (validation with file
lines), ``compiled`` (lookups), ``machine`` (the pure core: plan a step, replay a log),
``guards``, ``engine`` (one transaction per step), ``registry``, ``diagram``.
"""
