"""Who acts and on what: the engine's read-only views of a user and of an application."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from engine.deadlines import StepClock
from engine.spec import ActorRule


@dataclass(frozen=True)
class Actor:
    """Who acts: a user with roles in one department; ``district`` None means a city department."""

    user_id: int
    username: str
    roles: frozenset[str]
    organisation: str
    district: str | None
    organisation_name: str = ""  # e.g. 市自然资源和规划局, shown with a joint reviewer's opinion

    @property
    def department(self) -> str:
        return self.organisation_name or self.organisation


# Facts that choose who reviews an application (PROCESS.md §4.8 routing snapshot).
ROUTING_FACTS = frozenset(
    {"district", "major", "cross_district", "city_level", "changes_land", "changes_structure", "low_risk", "commitment"}
)

# The system itself: fires timeouts (视为受理, 超时默认) under the same rules as anyone, as role `system`.
SYSTEM_ACTOR = Actor(0, "system", frozenset({"system"}), "system", None)


@dataclass(frozen=True)
class Case:
    """The engine's read-only view of an application."""

    state: str
    data: Mapping[str, Any]
    applicant_id: int
    applicant_organisation: str
    level: str | None = None
    outcome: str | None = None
    clock: StepClock | None = None
    today: date | None = None  # the Shanghai calendar day, for periods such as 公示
    joint: Mapping[str, Mapping[str, Any]] | None = None  # branch id -> {"status": pending|approved|skipped}
    barred_until: date | None = None  # the applicant's fast-path bar (告知承诺制), if any
    credit_unrepaired: bool = False  # a serious bad-credit record the credit platform has not reported repaired

    @property
    def district(self) -> str | None:
        value = self.data.get("district")
        return value if isinstance(value, str) else None

    def facts(self, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return {**self.data, "level": self.level, **(extra or {})}


def matches(rule: ActorRule, case: Case, actor: Actor) -> bool:
    if rule.applicant:
        return actor.organisation == case.applicant_organisation
    if rule.role not in actor.roles:
        return False
    if rule.jurisdiction == "district":
        return actor.district is not None and actor.district == case.district
    if rule.jurisdiction == "city":
        return actor.district is None
    return True
