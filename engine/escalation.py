"""Who hears of an overdue step (PROCESS.md §4.2, supervision by the task force's office 004 八(四)).

The head of each department that decides the step (its review kinds), and the supervising office: for a district or
county step the district's renewal body and the city task force's office, for a city step the
task force's office alone.
"""

from __future__ import annotations

from engine.spec import REVIEW_KINDS, WorkflowSpec

BASIS = "004 八(四); PROCESS.md §4.2 overdue"


def escalation_targets(spec: WorkflowSpec, state: str, district: str | None) -> list[dict[str, str]]:
    deciding = [t for t in spec.transitions_from(state) if t.kind in REVIEW_KINDS]  # not 延期, 暂停 and the like
    rules = [rule for t in deciding for rule in t.by if rule.role and rule.role not in ("system", "dept_head")]
    targets = [{"role": "dept_head", "department": role} for role in sorted({rule.role or "" for rule in rules})]
    if district and any(rule.jurisdiction == "district" for rule in rules):
        targets.append({"role": "local_renewal_office", "district": district})
    targets.append({"role": "city_task_force"})
    return targets
