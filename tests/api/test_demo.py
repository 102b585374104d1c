"""--demo: the demo clock moves forward only, within bounds; demo accounts exist only with --demo."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from engine.clock import DemoClock
from tests.conftest import SECRET, settings_for
from tests.factories import Api, assert_problem

CLOCK = "/api/v1/demo/clock"


@pytest.fixture
def demo_api(database_url: str) -> Iterator[Api]:
    app = create_app(settings_for(database_url), clock=DemoClock(), prepare=False)
    with TestClient(app) as client:
        yield Api(client, {})


def test_the_demo_clock_moves_forward_and_refuses_the_rest(demo_api: Api) -> None:
    before = datetime.fromisoformat(demo_api.get("admin", CLOCK).json()["now"])
    moved = demo_api.client.post(CLOCK, json={"advance": "P31D"}, headers=demo_api.headers("admin"))
    assert moved.status_code == 200, moved.text
    after = datetime.fromisoformat(moved.json()["now"])
    assert 31 <= (after - before).days <= 32
    for advance in ("-P1D", "P", "31D", "P1Y", "P99999999999999999999D", "P3661D"):
        refused = demo_api.client.post(CLOCK, json={"advance": advance}, headers=demo_api.headers("admin"))
        assert_problem(refused, 422, "invalid_request")
    not_admin = demo_api.client.post(CLOCK, json={"advance": "P1D"}, headers=demo_api.headers("owner"))
    assert_problem(not_admin, 403, "permission_denied")
    now = datetime.fromisoformat(demo_api.get("admin", CLOCK).json()["now"])
    assert (now - after).days == 0  # nothing refused moved it


def test_the_demo_clock_stops_short_of_the_end_of_time(demo_api: Api) -> None:
    for _ in range(20):  # ten years a step
        response = demo_api.client.post(CLOCK, json={"advance": "P3660D"}, headers=demo_api.headers("admin"))
        if response.status_code != 200:
            break
    assert_problem(response, 422, "invalid_data")
    assert datetime.fromisoformat(demo_api.get("admin", CLOCK).json()["now"]).year < 2200


def test_no_demo_clock_without_demo(api: Api) -> None:
    # the suite's app has demo settings but a fixed clock: the demo clock is not there
    assert_problem(api.get("admin", CLOCK), 404, "not_found")


def test_demo_accounts_are_disabled_by_a_start_without_demo_and_back_with_it(database_url: str) -> None:
    plain = Settings(database_url=database_url, secret_key=SECRET, demo=False, scheduler_interval_seconds=0,
                     webhook_worker=False)  # fmt: skip
    with TestClient(create_app(plain)) as client:
        refused = client.post("/api/v1/auth/token", data={"username": "admin", "password": "demo"})
        assert_problem(refused, 401, "account_disabled")
    with TestClient(create_app(settings_for(database_url))) as client:  # --demo again
        token = client.post("/api/v1/auth/token", data={"username": "admin", "password": "demo"})
        assert token.status_code == 200, token.text
