"""The delivery worker: signed, retried with backoff, dead-lettered, ordered per application, restart-safe.

Receivers are httpx.MockTransport handlers (and, once, a real http.server on 127.0.0.1); time moves
only when the FixedClock is advanced, and the worker runs only when a test calls it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook

from api.db.database import Database
from api.services import webhooks
from api.services.auth import actor_by_username
from api.services.outbox import DeliveryWorker, http_client
from api.services.webhooks import DeliveryFilter
from engine.clock import FixedClock
from tests.factories import Api, context_of, implementation_plan_data

Handler = Callable[[httpx.Request], httpx.Response]
DELIVERIES = "/api/v1/webhooks/deliveries"


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs, not even except/finally meant for errors."""


def subscribe(api: Api, url: str = "https://receiver.example/hooks", **extra: Any) -> dict[str, Any]:
    body = {"url": url, "events": ["*"], **extra}
    response = api.client.post("/api/v1/webhooks/subscriptions", json=body, headers=api.headers("admin"))
    assert response.status_code == 201, response.text
    return dict(response.json())


def worker_for(api: Api, handler: Handler) -> DeliveryWorker:
    return DeliveryWorker(context_of(api), httpx.Client(transport=httpx.MockTransport(handler)))


def signed_by(secret: str, request: httpx.Request) -> bool:
    """Recompute with standardwebhooks for the request's own timestamp (the test clock is not the system's)."""
    at = datetime.fromtimestamp(int(request.headers["webhook-timestamp"]), UTC)
    expected = Webhook(secret).sign(request.headers["webhook-id"], at, request.content.decode())
    return expected in request.headers["webhook-signature"].split(" ")


def deliveries(api: Api, **params: Any) -> list[dict[str, Any]]:
    response = api.get("admin", DELIVERIES, params=params)
    assert response.status_code == 200, response.text
    return list(response.json())


def test_deliveries_are_signed_with_the_subscription_secret(api: Api) -> None:
    subscription = subscribe(api)
    received: list[httpx.Request] = []
    plan = api.created("owner", "implementation_plan", implementation_plan_data())
    api.step("owner", plan, "publish_notice")  # no receiver has run yet: transitions never wait for one
    worker = worker_for(api, lambda request: received.append(request) or httpx.Response(200))
    assert worker.drain() == 2
    assert [r.headers["webhook-id"].startswith("msg_") for r in received] == [True, True]
    assert all(signed_by(subscription["secret"], r) for r in received)
    bodies = [httpx.Response(200, content=r.content).json() for r in received]
    assert [b["type"] for b in bodies] == ["application.created", "application.transitioned"]
    assert bodies[1]["data"]["application"]["state"] == "public_notice"
    assert bodies[1]["data"]["audit"]["seq"] == bodies[0]["data"]["audit"]["seq"] + 1
    log = deliveries(api)
    assert [d["status"] for d in log] == ["delivered", "delivered"]
    assert log[0]["log"][0]["status_code"] == 200
    assert log[0]["log"][0]["latency_ms"] is not None


def test_a_failing_receiver_is_retried_with_backoff_until_it_answers_200(api: Api, clock: FixedClock) -> None:
    subscribe(api)
    answers = iter([500, 503, 200])
    worker = worker_for(api, lambda _request: httpx.Response(next(answers)))
    api.created("owner", "implementation_plan", implementation_plan_data())
    assert worker.run_once() == 1
    assert worker.run_once() == 0  # not due yet: the first retry waits 5-10 s
    clock.advance(timedelta(seconds=10))
    assert worker.run_once() == 1
    assert worker.run_once() == 0
    clock.advance(timedelta(seconds=20))
    assert worker.run_once() == 1
    [delivery] = deliveries(api)
    assert delivery["status"] == "delivered"
    assert [attempt["status_code"] for attempt in delivery["log"]] == [500, 503, 200]


def test_max_attempts_dead_letters_and_an_admin_redelivers(api: Api, clock: FixedClock) -> None:
    subscribe(api)
    received: list[str] = []
    status = {"code": 500}

    def receiver(request: httpx.Request) -> httpx.Response:
        received.append(request.headers["webhook-id"])
        return httpx.Response(status["code"], text="down")

    worker = worker_for(api, receiver)
    worker.settings = worker.settings.model_copy(update={"webhook_max_attempts": 3})
    api.created("owner", "implementation_plan", implementation_plan_data())
    for _ in range(5):
        worker.run_once()
        clock.advance(timedelta(hours=1))
    [delivery] = deliveries(api)
    assert (delivery["status"], delivery["attempts"], delivery["last_error"]) == ("dead", 3, "down")
    status["code"] = 204
    response = api.client.post(f"{DELIVERIES}/{delivery['id']}/redeliver", headers=api.headers("admin"))
    assert response.status_code == 200
    assert response.json()["status"] == "pending"
    assert worker.run_once() == 1
    assert deliveries(api, status="delivered")[0]["id"] == delivery["id"]
    assert set(received) == {delivery["webhook_id"]}  # the same webhook-id every time
    assert len(received) == 4


def test_unreachable_receivers_are_logged_with_the_error(api: Api) -> None:
    subscribe(api)

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    api.created("owner", "implementation_plan", implementation_plan_data())
    worker_for(api, refuse).run_once()
    [delivery] = deliveries(api)
    assert delivery["status"] == "pending"
    assert delivery["log"][0]["status_code"] is None
    assert "ConnectError" in delivery["log"][0]["error"]


def test_order_is_kept_per_application(api: Api, clock: FixedClock) -> None:
    subscribe(api)
    first = api.created("owner", "implementation_plan", implementation_plan_data())
    api.step("owner", first, "publish_notice")
    api.created("owner2", "implementation_plan", implementation_plan_data())
    received: list[tuple[int, str]] = []
    failed_once: set[int] = set()

    def receiver(request: httpx.Request) -> httpx.Response:
        body = httpx.Response(200, content=request.content).json()
        application = body["data"]["application"]["id"]
        if application == first["id"] and application not in failed_once:
            failed_once.add(application)
            return httpx.Response(500)
        received.append((application, body["type"]))
        return httpx.Response(200)

    worker = worker_for(api, receiver)
    worker.drain()
    assert received == [(first["id"] + 1, "application.created")]  # the other application is not held up
    clock.advance(timedelta(seconds=10))
    worker.drain()
    assert received[1:] == [(first["id"], "application.created"), (first["id"], "application.transitioned")]


def test_a_worker_killed_mid_batch_loses_nothing_after_restart(api: Api, clock: FixedClock) -> None:
    subscribe(api)
    for _ in range(3):
        api.created("owner", "implementation_plan", implementation_plan_data())
    received: list[str] = []

    def dies_on_the_second(request: httpx.Request) -> httpx.Response:
        received.append(request.headers["webhook-id"])
        if len(received) == 2:
            raise Killed
        return httpx.Response(200)

    with pytest.raises(Killed):
        worker_for(api, dies_on_the_second).run_once()
    restarted = worker_for(api, lambda request: received.append(request.headers["webhook-id"]) or httpx.Response(200))
    assert restarted.run_once() == 0  # the dead worker's lease still holds
    clock.advance(timedelta(seconds=context_of(api).settings.webhook_lease_seconds + 1))
    assert restarted.drain() == 2
    log = deliveries(api)
    assert {d["status"] for d in log} == {"delivered"}
    assert set(received) == {d["webhook_id"] for d in log}  # every event at least once
    assert len(received) == 4 and received[1] == received[2]  # the interrupted one again, same webhook-id


def test_after_rotation_both_secrets_sign_until_the_grace_period_ends(api: Api, clock: FixedClock) -> None:
    context = context_of(api)  # cached bearer tokens last 8 h of clock time: keep the jump short
    context.settings = context.settings.model_copy(update={"webhook_secret_grace_hours": 1})
    old = subscribe(api)
    new = api.client.post(f"/api/v1/webhooks/subscriptions/{old['id']}/rotate-secret", headers=api.headers("admin"))
    received: list[httpx.Request] = []
    worker = worker_for(api, lambda request: received.append(request) or httpx.Response(200))
    plan = api.created("owner", "implementation_plan", implementation_plan_data())
    worker.drain()
    assert signed_by(old["secret"], received[0]) and signed_by(new.json()["secret"], received[0])
    clock.advance(timedelta(hours=2))
    api.fire("owner", plan, "withdraw", comment="撤回")
    worker.drain()
    assert signed_by(new.json()["secret"], received[1]) and not signed_by(old["secret"], received[1])


def test_disabled_subscriptions_and_other_workflows_get_nothing(api: Api) -> None:
    subscription = subscribe(api)
    subscribe(api, workflow="unit_plan")
    path = f"/api/v1/webhooks/subscriptions/{subscription['id']}"
    api.client.patch(path, json={"enabled": False}, headers=api.headers("admin"))
    api.created("owner", "implementation_plan", implementation_plan_data())
    received: list[httpx.Request] = []
    worker = worker_for(api, lambda request: received.append(request) or httpx.Response(200))
    assert worker.drain() == 0 and deliveries(api) == []  # disabled when the event happened
    api.client.patch(path, json={"enabled": True}, headers=api.headers("admin"))
    api.created("owner", "implementation_plan", implementation_plan_data())
    assert worker.drain() == 1


# --- a real receiver on 127.0.0.1 --------------------------------------------------------------


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]], list[int]]]:
    """An http.server in a thread: answers the queued statuses (then 200) and keeps what it got."""
    got: list[tuple[dict[str, str], bytes]] = []
    statuses: list[int] = []

    class Receive(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["content-length"]))
            got.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(statuses.pop(0) if statuses else 200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # keep the test output quiet
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receive)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks", got, statuses
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_a_real_receiver_verifies_deliveries_and_gets_retries(
    api: Api, clock: FixedClock, receiver: tuple[str, list[tuple[dict[str, str], bytes]], list[int]]
) -> None:
    url, got, statuses = receiver
    subscription = subscribe(api, url=url)
    statuses.extend([500, 500])
    api.created("owner", "implementation_plan", implementation_plan_data())
    # standardwebhooks' verify() checks webhook-timestamp against the system clock: move ours there
    clock.advance(datetime.now(UTC) - clock.now())
    worker = DeliveryWorker(context_of(api), http_client(context_of(api).settings))
    for _ in range(3):
        worker.run_once()
        clock.advance(timedelta(seconds=30))
    assert len(got) == 3
    assert {headers["webhook-id"] for headers, _ in got} == {got[0][0]["webhook-id"]}
    for headers, body in got:
        event = Webhook(subscription["secret"]).verify(body, headers)
        assert event["type"] == "application.created"
    admin = actor_by_username(context_of(api), "admin")  # the bearer tokens expired with the jump
    [delivery] = webhooks.list_deliveries(context_of(api), admin, DeliveryFilter())
    assert [attempt.status_code for attempt in delivery.log] == [500, 500, 200]


def test_two_workers_on_their_own_connections_deliver_each_event_once(api: Api, database_url: str) -> None:
    """Like two server processes: on PostgreSQL SKIP LOCKED splits the rows, everywhere the lease CAS does."""
    subscribe(api)
    for _ in range(12):
        api.created("owner", "implementation_plan", implementation_plan_data())
    received: list[str] = []
    lock = threading.Lock()

    def receiver(request: httpx.Request) -> httpx.Response:
        with lock:
            received.append(request.headers["webhook-id"])
        return httpx.Response(200)

    context = context_of(api)
    workers = [DeliveryWorker(replace(context, db=Database(database_url)), httpx.Client(
        transport=httpx.MockTransport(receiver))) for _ in range(2)]  # fmt: skip
    start = threading.Barrier(2)

    def run(worker: DeliveryWorker) -> None:
        start.wait()
        worker.drain()

    threads = [threading.Thread(target=run, args=(worker,)) for worker in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for worker in workers:
        worker.context.db.dispose()
    assert len(received) == len(set(received)) == 12
