"""Keeping the promises on time: business calendars, SLA and regulatory clocks, tiers, the sweep.

Pure rules: ``calendar``, ``policy``, ``clocks``. Persistence: ``models``, ``repository``. Use
cases: ``observer`` (clocks move inside each step's transaction), ``tiers`` (escalation
triggers), ``sweep`` (fires due timers exactly once), ``services``, ``explain``.
"""
