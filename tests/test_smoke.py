from complaints.schemas import ComplaintIn


def test_a_complaint_taken_in_is_acknowledged_at_once(app, handler):
    reference, created = app.intake.take_in_one(
        ComplaintIn(product="Current account", description="Charged twice", external_id="X-1"), handler
    )
    case = app.engine.get(reference)
    assert created and case.state == "acknowledged" and case.version == 2
