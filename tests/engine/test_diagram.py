"""The mermaid stateDiagram-v2 of each bundled workflow."""

from __future__ import annotations

import re
from functools import cache
from importlib.resources import files

import pytest

from engine.diagram import mermaid_diagram
from engine.loading import load_spec
from engine.spec import WorkflowSpec

WORKFLOWS = ["unit_plan", "implementation_plan"]


@cache
def spec_of(name: str) -> WorkflowSpec:
    return load_spec(files("workflows").joinpath(f"{name}.yaml").read_text(encoding="utf-8"))


def body(text: str) -> list[str]:
    """The diagram's lines after an optional `---` front-matter block."""
    lines = text.splitlines()
    if lines and lines[0] == "---":
        end = lines.index("---", 1)
        lines = lines[end + 1 :]
    return lines


def active_states(text: str) -> set[str]:
    return set(re.findall(r"^\s*class (\w+) s_active$", text, flags=re.MULTILINE | re.IGNORECASE))


@pytest.mark.parametrize("name", WORKFLOWS)
def test_header(name: str) -> None:
    text = mermaid_diagram(spec_of(name), "draft")
    assert body(text)[0] == "stateDiagram-v2"
    assert text.endswith("\n")


@pytest.mark.parametrize("name", WORKFLOWS)
def test_states_carry_their_chinese_titles(name: str) -> None:
    spec = spec_of(name)
    text = mermaid_diagram(spec, "draft")
    for state in spec.states:
        assert f'state "{state.title} {state.id}" as {state.id}' in text
    assert "编制中" in text
    assert "不予受理/不予批准" in text


def edges(text: str) -> list[tuple[str, str, str]]:
    """(source, target, trigger) of every edge; mermaid joins the triggers of one source→target pair with |."""
    found = []
    for line in body(text):
        match = re.fullmatch(r"\s*(\w+) --> (\w+): (.+)", line)
        if match:
            found += [(match[1], match[2], trigger.strip()) for trigger in match[3].split("|")]
    return found


@pytest.mark.parametrize("name", WORKFLOWS)
def test_every_transition_is_an_edge(name: str) -> None:
    spec = spec_of(name)
    drawn = edges(mermaid_diagram(spec, "draft"))
    assert set(drawn) == {(source, t.target, t.id) for t in spec.transitions for source in t.source}
    # guarded variants with the same trigger, source and target are drawn once
    assert len(drawn) == len(set(drawn))


def test_both_unit_plan_approval_routes_are_drawn() -> None:
    drawn = edges(mermaid_diagram(spec_of("unit_plan"), "draft"))
    assert ("gov_approval", "approved", "approve") in drawn
    assert ("gov_approval", "awaiting_filing", "approve") in drawn


@pytest.mark.parametrize("name", WORKFLOWS)
def test_start_and_final_states(name: str) -> None:
    spec = spec_of(name)
    lines = [line.strip() for line in body(mermaid_diagram(spec, "draft"))]
    assert "[*] --> draft" in lines
    finals = {line.removesuffix(" --> [*]") for line in lines if line.endswith("--> [*]")}
    assert finals == {s.id for s in spec.states if s.final}
    assert finals == {"approved", "filed", "rejected", "withdrawn"}


@pytest.mark.parametrize(
    ("name", "current"),
    [
        ("unit_plan", "gov_approval"),
        ("unit_plan", "filing_review"),
        ("unit_plan", "approved"),
        ("implementation_plan", "task_force_review"),
        ("implementation_plan", "draft"),
    ],
)
def test_marks_the_current_state_active(name: str, current: str) -> None:
    assert active_states(mermaid_diagram(spec_of(name), current)) == {current}


def test_rendering_leaves_no_state_behind() -> None:
    spec = spec_of("unit_plan")
    first = mermaid_diagram(spec, "gov_approval")
    mermaid_diagram(spec, "filed")
    assert mermaid_diagram(spec, "gov_approval") == first
    assert active_states(mermaid_diagram(spec, "filed")) == {"filed"}


@pytest.mark.parametrize("name", WORKFLOWS)
def test_no_current_state_marks_nothing_active(name: str) -> None:
    assert active_states(mermaid_diagram(spec_of(name))) == set()
