"""Transition throughput with three active webhook subscriptions, as a ratio to none, in the same run.

    .venv/bin/python bench/bench_webhooks.py [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/x]

Calls the service layer in-process (no HTTP) on a fresh database: publishes a one-state workflow
whose `touch` transition loops back, then lets N threads fire it on one application each, first
with no subscriptions, then with three matching ones (each transition then also writes three
pending deliveries in its transaction). Then runs the delivery worker against a MockTransport
receiver, to show what draining costs. Rounds alternate (none, three, none, three, ...) so drift
hits both; the ratio is what to compare between runs and machines, not the absolute numbers.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import structlog

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from api.app import prepare_database  # noqa: E402
from api.db.database import Database  # noqa: E402
from api.schemas import ApplicationCreate, TransitionRequest  # noqa: E402
from api.services import applications, webhooks, workflows  # noqa: E402
from api.services.applications import FireTransition  # noqa: E402
from api.services.auth import actor_by_username  # noqa: E402
from api.services.context import Context  # noqa: E402
from api.services.outbox import DeliveryWorker  # noqa: E402
from api.settings import Settings  # noqa: E402
from engine.clock import SystemClock  # noqa: E402
from engine.runner import Actor  # noqa: E402

WORKFLOW_YAML = """\
key: bench_loop
title: 基准测试循环
basis: "〔default〕"
initial: open
initiator:
  role: applicant
fields:
  - {name: district, type: enum, label: 所在区县, required: true, enum: [dongcheng, linhe]}
states:
  - {id: open, title: 办理中}
  - {id: closed, title: 已办结, final: true, outcome: withdrawn}
transitions:
  - {id: touch, title: 记录, kind: other, from: open, to: open, by: {applicant: true}, basis: "〔default〕"}
  - {id: close, title: 办结, kind: withdraw, from: open, to: closed, by: {applicant: true}, basis: "〔default〕"}
"""


def report(line: str = "") -> None:
    sys.stdout.write(line + "\n")


def fire_many(context: Context, threads: int, per_thread: int) -> float:
    """Transitions per second with ``threads`` clients, each on its own application."""
    owner = actor_by_username(context, "owner")
    body = ApplicationCreate(workflow="bench_loop", title="基准", data={"district": "dongcheng"})
    plans = [applications.create_application(context, owner, body) for _ in range(threads)]
    start = threading.Barrier(threads + 1)

    def run(plan_id: int, version: int) -> None:
        start.wait()
        for _ in range(per_thread):
            request = TransitionRequest(expected_version=version)
            version = applications.fire_transition(context, owner, FireTransition(plan_id, "touch", request)).version

    workers = [threading.Thread(target=run, args=(plan.id, plan.version)) for plan in plans]
    for worker in workers:
        worker.start()
    start.wait()
    began = time.perf_counter()
    for worker in workers:
        worker.join()
    return threads * per_thread / (time.perf_counter() - began)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--per-thread", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    logging.getLogger("transitions").setLevel(logging.ERROR)
    url = arguments.database_url or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    settings = Settings(database_url=url, secret_key="bench-secret-key-0123456789abcdef0123", demo=True)
    context = Context(db=Database(url), clock=SystemClock(), settings=settings)
    prepare_database(context)
    admin = actor_by_username(context, "admin")
    workflows.publish(context, admin, "bench_loop", WORKFLOW_YAML)
    rates: dict[int, list[float]] = {0: [], 3: []}
    subscriptions = webhooks.SubscriptionCreate(url="http://127.0.0.1:9/never", events=["*"])
    for _ in range(arguments.rounds):
        for count in (0, 3):
            _set_subscriptions(context, admin, subscriptions, enabled=count)
            rates[count].append(fire_many(context, arguments.threads, arguments.per_thread))
    drained = _drain(context)
    none, three = statistics.median(rates[0]), statistics.median(rates[3])
    report(f"database: {context.db.engine.dialect.name}, {arguments.threads} threads × {arguments.per_thread}")
    report(f"{'subscriptions':>14} {'transitions/s (median)':>24} {'ratio':>8}")
    report(f"{0:>14} {none:>24.0f} {1.0:>8.2f}")
    report(f"{3:>14} {three:>24.0f} {three / none:>8.2f}")
    report(f"worker drained {drained[0]} deliveries at {drained[1]:.0f}/s (MockTransport receiver)")
    context.db.dispose()
    return 0


def _set_subscriptions(context: Context, admin: Actor, body: webhooks.SubscriptionCreate, enabled: int) -> None:
    existing = webhooks.list_subscriptions(context, admin)
    while len(existing) < 3:
        webhooks.create_subscription(context, admin, body)
        existing = webhooks.list_subscriptions(context, admin)
    for index, subscription in enumerate(existing):
        update = webhooks.SubscriptionUpdate(enabled=index < enabled)
        webhooks.update_subscription(context, admin, subscription.id, update)


def _drain(context: Context) -> tuple[int, float]:
    worker = DeliveryWorker(context, httpx.Client(transport=httpx.MockTransport(lambda _r: httpx.Response(204))))
    for subscription in webhooks.list_subscriptions(context, actor_by_username(context, "admin")):
        webhooks.update_subscription(context, actor_by_username(context, "admin"), subscription.id,
                                     webhooks.SubscriptionUpdate(enabled=True))  # fmt: skip
    began = time.perf_counter()
    sent = worker.drain(limit=100_000)
    return sent, sent / (time.perf_counter() - began)


if __name__ == "__main__":
    raise SystemExit(main())
