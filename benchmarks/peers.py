"""In-memory state machine libraries, for context beside the durable engine.

They keep no audit log, timers or outbox, so they are not a target to meet; but a persistent
engine must rebuild its machine for every transition (the case lives in the database, not in
a process), so each peer is measured that way: restore the instance, fire one event, keep the
new state. Both are optional (``pip install -e '.[bench]'``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from benchmarks.harness import NotAvailable

Transition = Callable[[], None]


def statemachine_transitions(cases: int) -> Transition:
    """python-statemachine: a machine rebuilt at the stored state, one event sent, state kept."""
    try:
        from statemachine import State, StateMachine
    except ImportError as exc:
        raise NotAvailable("python-statemachine is not installed (pip install -e '.[bench]')") from exc

    class CaseMachine(StateMachine):  # type: ignore[misc]
        investigating = State(initial=True)
        on_hold = State()
        pause = investigating.to(on_hold)
        resume = on_hold.to(investigating)

    stored = ["investigating"] * cases
    position = [0]

    def transition() -> None:
        index = position[0] % cases
        position[0] += 1
        machine = CaseMachine(start_value=stored[index])
        machine.send("pause" if stored[index] == "investigating" else "resume")
        stored[index] = str(machine.current_state_value)

    return transition


def spiff_transitions(cases: int) -> Transition:
    """SpiffWorkflow: the serialized workflow restored, the ready task run, serialized again."""
    try:
        from SpiffWorkflow.serializer.json import JSONSerializer
        from SpiffWorkflow.specs.Simple import Simple
        from SpiffWorkflow.specs.WorkflowSpec import WorkflowSpec
        from SpiffWorkflow.util.task import TaskState
        from SpiffWorkflow.workflow import Workflow
    except ImportError as exc:
        raise NotAvailable("SpiffWorkflow is not installed (pip install -e '.[bench]')") from exc

    spec = WorkflowSpec("case", addstart=True)
    pause, resume = Simple(spec, "pause"), Simple(spec, "resume")
    spec.start.connect(pause)
    pause.connect(resume)
    serializer = JSONSerializer()
    first = Workflow(spec)
    _run_ready(first, TaskState)  # the Start task: the case now waits for 'pause'
    initial = serializer.serialize_workflow(first)
    stored: list[Any] = [initial] * cases
    position = [0]

    def transition() -> None:
        index = position[0] % cases
        position[0] += 1
        workflow = serializer.deserialize_workflow(stored[index])
        _run_ready(workflow, TaskState)
        stored[index] = initial if workflow.is_completed() else serializer.serialize_workflow(workflow)

    return transition


def _run_ready(workflow: Any, task_state: Any) -> None:
    ready = workflow.get_tasks(state=task_state.READY)
    ready[0].run()

