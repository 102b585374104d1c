"""Plain helpers with valid defaults for driving the API as the demo users."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol

import jwt
from fastapi.testclient import TestClient
from httpx2 import Response  # what starlette's TestClient returns

from api.services.context import Context
from engine.clock import FixedClock
from engine.working_days import SHANGHAI

SIX_CONTENTS = ("renewal_approach", "implementation_path", "design_scheme", "construction_scheme",
                "management_mechanism", "operation_plan")  # fmt: skip
FIVE_CONTENTS = ("positioning", "control_indicators", "facility_layout", "economics_funding", "phasing")


def implementation_plan_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "district": "dongcheng",
        "renewal_type": "residential_improvement",
        "entity_basis": "property_right_holder",
        "tenure_mode": "consent_only",
        "major": False,
        "rebuild_or_alter": False,
        **{name: f"{name} 的内容" for name in SIX_CONTENTS},
    }
    return {**data, **overrides}


def unit_plan_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "district": "dongcheng",
        "unit_id": "DC-U-01",
        "special_plan_id": "东政字〔2025〕3号",
        "adjusts_regulatory_plan": False,
        "notice_summary": "收到意见 12 条，采纳 5 条",
        **{name: f"{name} 的内容" for name in FIVE_CONTENTS},
    }
    return {**data, **overrides}


class Api:
    """The JSON API as one demo user or another."""

    def __init__(self, client: TestClient, tokens: dict[str, str]) -> None:
        self.client = client
        self._tokens = tokens

    def headers(self, username: str) -> dict[str, str]:
        if username not in self._tokens or self._expired(self._tokens[username]):
            response = self.client.post("/api/v1/auth/token", data={"username": username, "password": "demo"})
            assert response.status_code == 200, response.text
            self._tokens[username] = response.json()["access_token"]
        return {"Authorization": f"Bearer {self._tokens[username]}"}

    def _expired(self, token: str) -> bool:
        """Tokens are shared across tests, but each test's clock may have moved past their expiry."""
        claims = jwt.decode(token, options={"verify_signature": False})
        now = self.client.app.state.context.clock.now()  # type: ignore[attr-defined]
        return bool(claims["exp"] <= now.timestamp() + 60)

    def get(self, username: str, path: str, **kwargs: Any) -> Response:
        return self.client.get(path, headers=self.headers(username), **kwargs)

    def create(self, username: str, workflow: str, data: dict[str, Any], title: str = "测试申请") -> Response:
        body = {"workflow": workflow, "title": title, "data": data}
        return self.client.post("/api/v1/applications", json=body, headers=self.headers(username))

    def created(self, username: str, workflow: str, data: dict[str, Any]) -> dict[str, Any]:
        response = self.create(username, workflow, data)
        assert response.status_code == 201, response.text
        return dict(response.json())

    def fire(
        self,
        username: str,
        application: dict[str, Any],
        transition: str,
        *,
        comment: str = "",
        data: dict[str, Any] | None = None,
        version: int | None = None,
        idempotency_key: str | None = None,
    ) -> Response:
        headers = self.headers(username)
        if idempotency_key:
            headers = {**headers, "Idempotency-Key": idempotency_key}
        body = {"expected_version": application["version"] if version is None else version,
                "comment": comment, "data": data or {}}  # fmt: skip
        path = f"/api/v1/applications/{application['id']}/transitions/{transition}"
        return self.client.post(path, json=body, headers=headers)

    def step(self, username: str, application: dict[str, Any], transition: str, **kwargs: Any) -> dict[str, Any]:
        """Fire and expect success; returns the application after the transition."""
        response = self.fire(username, application, transition, **kwargs)
        assert response.status_code == 200, f"{transition} as {username}: {response.text}"
        return dict(response.json())

    def action(self, username: str, application: dict[str, Any], transition: str) -> dict[str, Any]:
        current = self.get(username, f"/api/v1/applications/{application['id']}").json()
        return next(a for a in current["available_actions"] if a["transition"] == transition)


class ProblemResponse(Protocol):
    """What the shared assertions read from a response: any client's."""

    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> Any: ...

    @property
    def text(self) -> str: ...

    def json(self, **kwargs: Any) -> Any: ...


NOTICE_DAYS = {"unit_plan": 30, "implementation_plan": 10}


def wait_out_notice(clock: FixedClock, workflow: str) -> None:
    """Let the 公示 period run in full (unit_plan 30 natural days, implementation_plan 10)."""
    clock.advance(timedelta(days=NOTICE_DAYS[workflow] + 1))


def assert_problem(response: ProblemResponse, status: int, code: str) -> dict[str, Any]:
    """An RFC 9457 problem with the stable code and a Chinese detail."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body = dict(response.json())
    assert body["status"] == status
    assert body["code"] == code, body
    assert isinstance(body.get("title"), str) and body.get("type")
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["detail"]), body["detail"]
    return body


def context_of(api: Api) -> Context:
    """The app's own context: its database, clock and settings, for what a test checks underneath."""
    context: Context = api.client.app.state.context  # type: ignore[attr-defined]
    return context


def allowed(api: Api, username: str, application: dict[str, Any]) -> set[str]:
    view = api.get(username, f"/api/v1/applications/{application['id']}")
    assert view.status_code == 200, view.text
    return {a["transition"] for a in view.json()["available_actions"] if a["allowed"]}


def audit(api: Api, application: dict[str, Any]) -> list[dict[str, Any]]:
    response = api.get("admin", f"/api/v1/applications/{application['id']}/audit")
    assert response.status_code == 200, response.text
    return list(response.json())


def trail(api: Api, application: dict[str, Any]) -> list[tuple[str, str | None, str | None]]:
    return [(e["action"], e["from_state"], e["to_state"]) for e in audit(api, application)]


def at(clock: FixedClock, day: str, hour: int = 9) -> None:
    """Move the clock forward to ``hour`` o'clock of ``day`` in Shanghai."""
    target = datetime.combine(date.fromisoformat(day), time(hour), tzinfo=SHANGHAI).astimezone(UTC)
    assert target >= clock.now(), "the clock only moves forward"
    clock.advance(target - clock.now())


def project_approval_data(**overrides: Any) -> dict[str, Any]:
    """S07's project: land documents reused, no structural change, normal route."""
    data = {
        "district": "dongcheng",
        "implementation_plan_id": "P-2026-001",
        "changes_land": False,
        "existing_land_docs": ["LC-0123"],
        "changes_structure": False,
        "low_risk": False,
        "commitment": False,
    }
    return {**data, **overrides}


# 告知承诺书: the four statements of 国办发〔2020〕42号, all confirmed
COMMITMENT = {
    "commitment_text": "本单位承诺：项目符合审批条件，所提交材料真实有效，接受事后核查，承诺不实愿承担法律责任。",
    "meets_conditions": True,
    "materials_true": True,
    "accepts_verification": True,
    "liable_if_false": True,
}
