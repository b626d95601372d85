"""Declarative workflows: a YAML definition -> pydantic model -> checked, compiled workflow.

``definition``, ``sla_spec`` and ``regulatory_presets`` (the language), ``loader`` and
``checks`` (validation with file lines), ``compiled`` (lookups), ``registry``, ``machine``
(the pure core: plan a step, replay a log), ``guards``, ``engine`` (one transaction per
step), ``timers`` (the timer sweep), ``intake``, ``queries``, ``access`` (who reads personal data), ``integrity`` (the log against
the stored cases), ``diagram``.
"""
