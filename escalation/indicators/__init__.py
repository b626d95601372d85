"""The indicators of the code of practice and the regulators' returns, from the event log and clocks.

Pure: ``meaning`` (what the workflow's states and actions count as), ``business_time``,
``measures`` (the indicators, whole and broken down), ``series`` (week by week), ``returns``
(FCA DISP 1 Annex 1R, CFPB response summary). Reading: ``facts`` (set-based queries, one row
per complaint). Use cases: ``service``. Output: ``chart`` (matplotlib, loaded only to draw),
``export`` (CSV, safe for spreadsheets). The guide is docs/indicators.md.
"""

from escalation.indicators.service import cfpb, fca, indicators, weekly_series

__all__ = ["cfpb", "fca", "indicators", "weekly_series"]
