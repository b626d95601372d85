"""The scheduled flows as plain data: which flows exist, where they live, when they run.

Kept free of Prefect so that ``complaints flows`` and ``--help`` stay instant and the case
commands never import it; the Prefect objects are loaded only by :func:`load_flow`.
A schedule is written ``every 90s`` / ``every 15m`` / ``every 1h`` / ``every 1d`` (an
interval) or as a five-field cron expression such as ``0 2 * * *``.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from complaintflow.settings import Settings
from complaints.errors import ConfigurationError

_EVERY = re.compile(r"^every\s+(\d+)\s*([smhd])$", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_CRON_FIELD = re.compile(r"^[0-9A-Za-z*,/\-?LW#]+$")


@dataclass(frozen=True)
class Schedule:
    """Either an interval or a cron expression (in ``timezone``)."""

    text: str
    interval: timedelta | None = None
    cron: str | None = None
    timezone: str = "UTC"

    def describe(self) -> str:
        return self.text if self.interval else f"cron {self.cron} ({self.timezone})"


def parse_schedule(text: str, timezone: str = "UTC", source: str = "schedule") -> Schedule:
    """``every 15m`` or a cron line; anything else is a ConfigurationError naming ``source``."""
    value = " ".join(text.split())
    if match := _EVERY.match(value):
        amount, unit = int(match[1]), match[2].lower()
        if amount < 1:
            raise ConfigurationError(f"{source}: {text!r} must be at least 'every 1{unit}'")
        return Schedule(value, interval=timedelta(**{_UNITS[unit]: amount}), timezone=timezone)
    fields = value.split(" ")
    if len(fields) == 5 and all(_CRON_FIELD.match(f) for f in fields):
        return Schedule(value, cron=value, timezone=timezone)
    raise ConfigurationError(
        f"{source}: {text!r} is neither an interval such as 'every 15m' (s, m, h, d) "
        "nor a five-field cron expression such as '0 2 * * *'"
    )


@dataclass(frozen=True)
class FlowSpec:
    """One scheduled flow: its CLI/deployment name, its Prefect flow, and its schedule setting."""

    name: str
    entrypoint: str  # "package.flows:function"
    setting: str  # the Settings field holding its schedule
    summary: str

    def schedule(self, settings: Settings, override: str | None = None) -> Schedule:
        text = override if override is not None else getattr(settings, self.setting)
        source = f"schedule of {self.name}" if override else f"COMPLAINTS_{self.setting.upper()}"
        return parse_schedule(text, settings.schedule_timezone, source)


FLOWS: tuple[FlowSpec, ...] = (
    FlowSpec("sla-sweep", "complaintflow.flows.sla:sla_sweep", "schedule_sla_sweep",
             "fire every due timer: SLA breaches, escalations, workflow deadlines"),
    FlowSpec("follow-ups", "complaintflow.flows.sla:follow_ups_due", "schedule_follow_ups",
             "start follow-ups, count unanswered ones, and fire due commitments"),
    FlowSpec("auto-close", "complaintflow.flows.sla:auto_close", "schedule_auto_close",
             "close complaints left awaiting the customer past their deadline"),
    FlowSpec("root-cause-nightly", "complaintflow.flows.root_cause:nightly_root_cause", "schedule_root_cause",
             "link related complaints and analyse recurrence"),
    FlowSpec("metrics-snapshot", "complaintflow.flows.metrics:metrics_snapshot", "schedule_metrics",
             "store today's counts, SLA breaches and resolution times"),
    FlowSpec("import-folder", "complaintflow.flows.intake:import_folder", "schedule_import_folder",
             "import CSV/JSON files dropped in the inbox folder"),
    FlowSpec("deliver-outbox", "complaintflow.flows.letters:deliver_outbox", "schedule_deliver_outbox",
             "send the letters due to customers (SMTP, webhook)"),
    FlowSpec("read-replies", "complaintflow.flows.letters:read_replies", "schedule_read_replies",
             "take in customers' replies left as .eml files in the reply folder"),
)


def flow_spec(name: str) -> FlowSpec:
    for spec in FLOWS:
        if spec.name == name:
            return spec
    raise ConfigurationError(f"No flow named {name!r}. Flows: {', '.join(s.name for s in FLOWS)}")


def load_flow(spec: FlowSpec) -> Any:
    """The Prefect flow object; importing it imports Prefect (with our quiet defaults)."""
    module, _, attr = spec.entrypoint.partition(":")
    return getattr(importlib.import_module(module), attr)
