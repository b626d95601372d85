"""Keeping the promises on time: business calendars, SLA and regulatory clocks, tiers, the sweep.

Pure rules: ``calendar``, ``policy``, ``clocks``. Persistence: ``models``, ``repository``. Use
cases: ``observer`` (clocks move inside each step's transaction), ``tiers`` (escalation
triggers), ``sweep`` (fires due timers exactly once), ``services``, ``explain``; ``indicators``
(the code of practice's indicators and the regulators' returns, from the event log and clocks).
"""
