"""Workflow pictures as text: Mermaid (renders on GitHub and in most wikis) and Graphviz dot."""

from __future__ import annotations

from workflows.compiled import CompiledWorkflow
from workflows.definition import ANY_OPEN_STATE


def _edges(wf: CompiledWorkflow) -> list[tuple[str, str, str]]:
    edges = []
    for action, tr in wf.spec.transitions.items():
        if ANY_OPEN_STATE in tr.from_:
            continue  # drawn once as a note, not as an edge from every state
        for src in tr.from_:
            label = action + (f" [tier {tr.tier}]" if tr.tier else "")
            edges.append((src, tr.to or src, label))
    timer_actions = {(s, t.action) for s, st in wf.spec.states.items() for t in st.timers}
    return [(s, d, f"⏱ {lbl}" if (s, lbl.split(" ")[0]) in timer_actions else lbl) for s, d, lbl in edges]


def _anywhere(wf: CompiledWorkflow) -> list[str]:
    return [a for a, tr in wf.spec.transitions.items() if ANY_OPEN_STATE in tr.from_]


def to_mermaid(wf: CompiledWorkflow) -> str:
    lines = ["stateDiagram-v2", f"    %% {wf.name} v{wf.version}: {wf.spec.title}"]
    lines.append(f"    [*] --> {wf.initial_state}")
    for src, dst, label in _edges(wf):
        lines.append(f"    {src} --> {dst}: {label}")
    for state in sorted(wf.final_states):
        lines.append(f"    {state} --> [*]")
    for state in sorted(wf.waiting_states):
        lines.append(f"    class {state} waiting")
    lines.append("    classDef waiting fill:#fff3cd,stroke:#b58900")
    anywhere = _anywhere(wf)
    if anywhere:
        lines.append(f"    note right of {wf.initial_state}: from any open state: {', '.join(anywhere)}")
    return "\n".join(lines) + "\n"


def to_dot(wf: CompiledWorkflow) -> str:
    lines = [f'digraph "{wf.name}_v{wf.version}" {{', "  rankdir=LR;", '  node [shape=box, style=rounded];']
    lines.append('  __start [shape=point];')
    lines.append(f"  __start -> {wf.initial_state};")
    for state in wf.spec.states:
        attrs = []
        if state in wf.final_states:
            attrs.append("peripheries=2")
        if state in wf.waiting_states:
            attrs += ['style="rounded,filled"', 'fillcolor="#fff3cd"']
        if attrs:
            lines.append(f"  {state} [{', '.join(attrs)}];")
    for src, dst, label in _edges(wf):
        lines.append(f'  {src} -> {dst} [label="{label}"];')
    anywhere = _anywhere(wf)
    if anywhere:
        lines.append(f'  __note [shape=note, label="from any open state: {", ".join(anywhere)}"];')
    lines.append("}")
    return "\n".join(lines) + "\n"
