"""Racing writers through the real app: compare-and-set, one global audit chain, idempotency.

Real threads share one TestClient (its portal is thread-safe; sync endpoints run in the worker
pool), and a Barrier releases them together, so the requests really overlap. Runs on SQLite and
on PostgreSQL, where the database alone decides between the racers.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import pytest
from httpx import Response
from sqlalchemy import create_engine, text

from api.schemas import ApplicationPublic
from api.services import idempotency
from api.services.auth import actor_by_username
from engine.errors import IdempotencyInProgress
from tests.factories import Api, implementation_plan_data

THREADS = 16
T = TypeVar("T")


def race(count: int, action: Callable[[int], T]) -> list[T]:
    """Run ``action(0..count-1)`` on ``count`` threads released at the same instant."""
    barrier = threading.Barrier(count)

    def run(index: int) -> T:
        barrier.wait(timeout=30)
        return action(index)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def audit_of(api: Api, application: dict[str, Any]) -> list[dict[str, Any]]:
    response = api.get("admin", f"/api/v1/applications/{application['id']}/audit")
    assert response.status_code == 200, response.text
    return list(response.json())


def verified(api: Api) -> dict[str, Any]:
    response = api.get("admin", "/api/v1/audit/verify")
    assert response.status_code == 200, response.text
    body = dict(response.json())
    assert body["ok"] is True, body
    assert body["first_bad_seq"] is None
    return body


def stored_seqs(database_url: str) -> tuple[list[int], int]:
    """Every audit seq in order, and the chain head's seq, read straight from the database."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            seqs = [row[0] for row in connection.execute(text("SELECT seq FROM auditevent ORDER BY seq"))]
            head = connection.execute(text("SELECT seq FROM audithead WHERE id = 1")).scalar_one()
    finally:
        engine.dispose()
    return seqs, int(head)


def warm_up(api: Api, *usernames: str) -> None:
    """Log in on the main thread, so the racing threads only read the token cache."""
    for username in usernames:
        api.headers(username)


def test_same_transition_same_version_only_one_wins(api: Api) -> None:
    warm_up(api, "owner", "admin")
    application = api.created("owner", "implementation_plan", implementation_plan_data())
    before = audit_of(api, application)

    responses = race(THREADS, lambda i: api.fire("owner", application, "publish_notice", comment=f"线程 {i}"))

    statuses = Counter(r.status_code for r in responses)
    assert statuses == {200: 1, 409: THREADS - 1}, [r.text for r in responses if r.status_code not in (200, 409)]
    for response in responses:
        if response.status_code == 409:
            assert response.headers["content-type"].startswith("application/problem+json")
            assert response.json()["code"] == "version_conflict", response.text
    winner = next(r for r in responses if r.status_code == 200).json()
    assert winner["state"] == "public_notice"
    assert winner["version"] == application["version"] + 1

    current = api.get("owner", f"/api/v1/applications/{application['id']}").json()
    assert (current["state"], current["version"]) == ("public_notice", application["version"] + 1)
    after = audit_of(api, application)
    assert len(after) == len(before) + 1
    assert after[-1]["action"] == "publish_notice"
    assert after[-1]["comment"] in {f"线程 {i}" for i in range(THREADS)}  # the one winner's
    verified(api)


def test_many_applications_in_parallel_share_one_gapless_chain(api: Api, database_url: str) -> None:
    warm_up(api, "owner", "owner2", "admin")
    users = ("owner", "owner2")

    def create_and_publish(index: int) -> tuple[int, int]:
        username = users[index % 2]
        created = api.create(username, "implementation_plan", implementation_plan_data(), title=f"并发申请 {index}")
        if created.status_code != 201:
            return created.status_code, -1
        fired = api.fire(username, created.json(), "publish_notice", comment=f"并发 {index}")
        return fired.status_code, int(created.json()["id"])

    results = race(THREADS, create_and_publish)

    assert [status for status, _ in results] == [200] * THREADS, results
    ids = [application_id for _, application_id in results]
    assert len(set(ids)) == THREADS
    for application_id in ids:
        view = api.get("admin", f"/api/v1/applications/{application_id}").json()
        assert (view["state"], view["version"]) == ("public_notice", 2)
        trail = audit_of(api, view)
        assert [e["action"] for e in trail] == ["create", "publish_notice"]

    seqs, head = stored_seqs(database_url)
    assert seqs == list(range(1, len(seqs) + 1)), "the global chain has a gap or a duplicate"
    assert head == len(seqs)
    assert verified(api)["events"] == len(seqs)


def test_parallel_transitions_on_many_applications_all_succeed(api: Api, database_url: str) -> None:
    warm_up(api, "owner", "admin")
    applications = [api.created("owner", "implementation_plan", implementation_plan_data()) for _ in range(THREADS)]
    _, head_before = stored_seqs(database_url)

    responses = race(THREADS, lambda i: api.fire("owner", applications[i], "publish_notice"))

    assert [r.status_code for r in responses] == [200] * THREADS, [r.text for r in responses]
    seqs, head = stored_seqs(database_url)
    assert head == head_before + THREADS
    assert seqs == list(range(1, head + 1))
    assert verified(api)["events"] == head


def test_same_idempotency_key_racing_gives_one_effect(api: Api) -> None:
    warm_up(api, "owner", "admin")
    for round_number in range(4):  # a few rounds, so the two requests overlap in more than one way
        application = api.created("owner", "implementation_plan", implementation_plan_data())
        before = audit_of(api, application)
        key = f"race-{round_number}-{application['id']}"

        def fire(_: int, application: dict[str, Any] = application, key: str = key) -> Response:
            return api.fire("owner", application, "publish_notice", comment="同一请求", idempotency_key=key)

        responses = race(2, fire)

        # the contract: a replay once the first has finished, 409 while it is still running
        statuses = sorted(r.status_code for r in responses)
        assert statuses in ([200, 200], [200, 409]), [r.text for r in responses]
        answers = [r.json() for r in responses if r.status_code == 200]
        assert all(answer == answers[0] for answer in answers)
        assert answers[0]["version"] == application["version"] + 1
        busy = [r.json() for r in responses if r.status_code == 409]
        assert all(problem["code"] == "idempotency_in_progress" for problem in busy)
        replay = fire(0)
        assert replay.status_code == 200 and replay.json() == answers[0]
        after = audit_of(api, application)
        assert len(after) == len(before) + 1
        assert after[-1]["data"]["idempotency_key"] == key
        current = api.get("owner", f"/api/v1/applications/{application['id']}").json()
        assert current["version"] == application["version"] + 1
    verified(api)


def test_a_request_whose_claim_was_taken_over_stores_nothing(api: Api) -> None:
    context = api.client.app.state.context  # type: ignore[attr-defined]
    owner = actor_by_username(context, "owner")
    view = ApplicationPublic.model_validate(api.created("owner", "implementation_plan", implementation_plan_data()))
    assert idempotency.claim(context, owner.user_id, "slow-1", "hash") is None
    idempotency.release(context, owner.user_id, "slow-1")  # what a takeover of an abandoned claim does first
    with pytest.raises(IdempotencyInProgress), context.db.write() as session:
        idempotency.complete(session, owner.user_id, "slow-1", view)  # the slow request's own commit
    assert idempotency.claim(context, owner.user_id, "slow-1", "hash") is None  # nothing was stored
