"""Named regulatory clocks a workflow can declare with ``preset: <name>``.

Each is the rule as regulators state it, counted from receipt and never paused:

- ``fca_disp``  UK FCA DISP 1.6: a summary resolution is possible until close of the third
  business day after receipt; a final response is due within 8 weeks, else a letter explaining
  the delay and the customer's right to refer to the Financial Ombudsman within 6 months.
  The final response names the Financial Ombudsman Service and the six months (DISP 1.6.2).
- ``psd2``      EU PSD2 art. 101: a reply within 15 business days; in exceptional cases a
  holding reply, with the final reply within 35 business days. The out-of-court body is each
  member state's own, so the preset names none: a workflow's letters name theirs.
- ``cfpb``      US CFPB: the company responds within 15 days and closes within 60 days; a
  consumer may take a complaint to the CFPB, with no time limit set here.

``refer_to`` and ``refer_within_months`` fill the ``$referral_body`` and
``$refer_within_months`` placeholders of the letters (``workflows.letters``).
"""

from __future__ import annotations

from datetime import timedelta

from workflows.sla_spec import MilestoneSpec, RegulatoryClockSpec, RegulatoryPreset

PRESETS: dict[str, RegulatoryPreset] = {
    "fca_disp": RegulatoryPreset(
        label="UK FCA DISP 1.6",
        refer_within_months=6,
        refer_to="Financial Ombudsman Service (www.financial-ombudsman.org.uk)",
        milestones={
            "summary_resolution": MilestoneSpec(
                label="summary resolution by close of the third business day after receipt",
                business_days=3, close_of_business=True, breach=False,
            ),
            "final_response": MilestoneSpec(
                label="final response within 8 weeks of receipt",
                calendar_days=56, letter="fca_delay_letter", letter_lead=timedelta(days=2),
            ),
        },
    ),
    "psd2": RegulatoryPreset(
        label="EU PSD2 art. 101",
        milestones={
            "reply": MilestoneSpec(
                label="reply within 15 business days of receipt",
                business_days=15, close_of_business=True, letter="psd2_holding_reply",
                letter_lead=timedelta(days=2),
            ),
            "final_reply": MilestoneSpec(
                label="final reply within 35 business days of receipt", business_days=35, close_of_business=True,
            ),
        },
    ),
    "cfpb": RegulatoryPreset(
        label="US CFPB company response",
        refer_to="Consumer Financial Protection Bureau (www.consumerfinance.gov/complaint)",
        milestones={
            "response": MilestoneSpec(
                label="response to the consumer within 15 days",
                calendar_days=15, letter="cfpb_response", letter_lead=timedelta(days=2),
            ),
            "closure": MilestoneSpec(label="complaint closed within 60 days", calendar_days=60),
        },
    ),
}


def resolved(spec: RegulatoryClockSpec) -> RegulatoryPreset:
    """The preset (if any) with the clock's own milestones and letters applied on top."""
    base = PRESETS[spec.preset] if spec.preset else RegulatoryPreset(label=spec.label, milestones={})
    milestones = {**base.milestones, **spec.milestones}
    for name, template in spec.letters.items():
        if name in milestones:
            milestones[name] = milestones[name].model_copy(update={"letter": template})
    return RegulatoryPreset(
        label=spec.label or base.label,
        milestones=milestones,
        refer_within_months=spec.refer_within_months or base.refer_within_months,
        refer_to=base.refer_to,
    )
