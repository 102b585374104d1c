"""Mermaid stateDiagram-v2 of a workflow, drawn by transitions' GraphMachine."""

from __future__ import annotations

from transitions.extensions import GraphMachine

from engine.spec import WorkflowSpec


class _Drawing:
    state: str


def mermaid_diagram(spec: WorkflowSpec, current: str | None = None) -> str:
    """A throwaway GraphMachine per render: it keeps a graph per model that remove_model never drops."""
    model = _Drawing()
    edges: dict[tuple[str, str, str], dict[str, object]] = {}
    for transition in spec.transitions:
        for source in transition.source:  # one edge per trigger and pair, however many guarded variants
            edges.setdefault(
                (transition.id, source, transition.target),
                {"trigger": transition.id, "source": source, "dest": transition.target},
            )
    machine = GraphMachine(
        model=model,
        states=[state.id for state in spec.states],
        transitions=list(edges.values()),
        initial=spec.initial,
        auto_transitions=False,
        graph_engine="mermaid",
        show_state_attributes=False,
        title=spec.title,
    )
    if current is not None:
        machine.set_state(current, model)

    text: str = model.get_graph(force_new=True).draw(None)  # type: ignore[attr-defined]
    del machine
    for state in spec.states:  # GraphMachine labels states by id; officials read the Chinese title
        text = text.replace(f'state "{state.id}" as {state.id}\n', f'state "{state.title} {state.id}" as {state.id}\n')
    if current is None:  # the definition alone: the drawing model sits in `initial`, but nothing is current
        text = text.replace(f"Class {spec.initial} s_active\n", f"Class {spec.initial} s_default\n")
    finals = [f"  {state.id} --> [*]" for state in spec.states if state.final]
    return text.rstrip("\n") + "\n" + "\n".join(finals) + "\n"
