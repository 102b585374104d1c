"""Transition throughput of a real server with three active webhook subscriptions, as a ratio to none.

    .venv/bin/python bench/bench_webhooks.py [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/x]

Starts two Greenlane servers the way bench_transitions.py does (uvicorn --factory api.app:create_app,
fresh database each, GREENLANE_DEMO=true, random secret key), both with the delivery worker on and
polling every 0.2 s. One gets no subscriptions; the other gets three subscriptions to "*" through
the admin API, pointing at a local receiver (a threaded http.server in its own process, answering
200 at once and verifying every delivery's Standard Webhooks signature with that subscription's
secret). For 1 and 16 clients, bench_transitions.py's clients fire `touch` on the quiet server,
then the same load on the busy one, whose worker delivers beside the transitions; then the bench
waits (bounded) until the receiver holds every expected delivery and reports how long the backlog
took to drain. The ratio column (three / none, same run) is what to compare, not absolute numbers.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import secrets
import statistics
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from bench_transitions import Greenlane, Result, databases, report, run_level, server
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

LEVELS = ((1, 400), (16, 1600))  # (concurrent clients, transitions in total)
SUBSCRIPTIONS = 3
POLL_SECONDS = "0.2"


# --- the receiver: its own process, so its work does not share the load generator's GIL ------------------------


@dataclass
class Lane:
    """What one subscription's endpoint received."""

    received: int = 0
    verified: int = 0
    failed: int = 0
    duplicates: int = 0  # a webhook-id seen before (at-least-once delivery)
    seen: set[str] = field(default_factory=set)
    by_application: Counter[str] = field(default_factory=Counter)  # distinct verified events per application

    def public(self) -> dict[str, Any]:
        return {"received": self.received, "verified": self.verified, "failed": self.failed,
                "duplicates": self.duplicates, "by_application": dict(self.by_application)}  # fmt: skip


class Tally:
    """Deliveries per subscription; one that arrives before its secret is known is verified once it is."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.webhooks: dict[int, Webhook] = {}
        self.waiting: list[tuple[int, dict[str, str], bytes]] = []
        self.lanes: dict[int, Lane] = {}

    def configure(self, secrets_by_index: dict[str, str]) -> None:
        with self.lock:
            self.webhooks.update({int(index): Webhook(secret) for index, secret in secrets_by_index.items()})
            waiting, self.waiting = self.waiting, []
        for index, headers, body in waiting:
            self.receive(index, headers, body)

    def receive(self, index: int, headers: dict[str, str], body: bytes) -> None:
        with self.lock:
            webhook = self.webhooks.get(index)
            if webhook is None:
                self.waiting.append((index, headers, body))
                return
        try:
            webhook.verify(body, headers, json_parse=False)
            subject, webhook_id = str(json.loads(body)["subject"]), headers["webhook-id"]
        except (WebhookVerificationError, ValueError, KeyError):
            subject = webhook_id = ""
        with self.lock:
            lane = self.lanes.setdefault(index, Lane())
            lane.received += 1
            if not webhook_id:
                lane.failed += 1
            elif webhook_id in lane.seen:
                lane.verified += 1
                lane.duplicates += 1
            else:
                lane.verified += 1
                lane.seen.add(webhook_id)
                lane.by_application[subject] += 1

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {"waiting": len(self.waiting), "lanes": {i: lane.public() for i, lane in self.lanes.items()}}


class ReceiverServer(ThreadingHTTPServer):
    daemon_threads = True
    tally: Tally


class Hook(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver would offer
    server: ReceiverServer

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        if self.path == "/_secrets":
            self.server.tally.configure(json.loads(body))
        elif match := re.fullmatch(r"/hook/(\d+)", self.path):
            headers = {name.lower(): value for name, value in self.headers.items()}
            self.server.tally.receive(int(match.group(1)), headers, body)
        else:
            self._answer(404, b"")
            return
        self._answer(200, b"")

    def do_GET(self) -> None:
        self._answer(200, json.dumps(self.server.tally.stats()).encode())

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve_receiver(ports: Any) -> None:
    httpd = ReceiverServer(("127.0.0.1", 0), Hook)
    httpd.tally = Tally()
    ports.put(httpd.server_address[1])
    httpd.serve_forever()


@contextmanager
def receiver() -> Iterator[str]:
    context = multiprocessing.get_context("spawn")
    ports = context.Queue()
    process = context.Process(target=serve_receiver, args=(ports,), daemon=True)
    process.start()
    try:
        yield f"http://127.0.0.1:{ports.get(timeout=60)}"
    finally:
        process.terminate()
        process.join(timeout=10)


# --- the benchmark ----------------------------------------------------------------------------------------------


def subscribe(target: Greenlane, receiver_url: str) -> None:
    """Three subscriptions to every event through the admin API; their secrets go to the receiver."""
    issued = {}
    for index in range(SUBSCRIPTIONS):
        body = {"url": f"{receiver_url}/hook/{index}", "events": ["*"]}
        created = httpx.post(f"{target.base_url}/api/v1/webhooks/subscriptions", json=body,
                             headers=target.admin_headers, timeout=30)  # fmt: skip
        if created.status_code != 201:
            raise SystemExit(f"subscribing failed: {created.status_code} {created.text}")
        issued[str(index)] = created.json()["secret"]
    httpx.post(f"{receiver_url}/_secrets", json=issued, timeout=30).raise_for_status()


def delivered(receiver_url: str, applications: list[int]) -> tuple[list[int], dict[str, Any]]:
    """Distinct verified deliveries of these applications' events, per subscription, and the raw stats."""
    stats = httpx.get(f"{receiver_url}/_stats", timeout=30).json()
    lanes = [stats["lanes"].get(str(index), {"by_application": {}}) for index in range(SUBSCRIPTIONS)]
    return [sum(lane["by_application"].get(str(a), 0) for a in applications) for lane in lanes], stats


@dataclass(frozen=True)
class Drain:
    expected: int  # deliveries in total (every event of this level's applications, to each subscription)
    during_load: int  # already at the receiver when the last request answered
    seconds: float | None  # from the end of the load until the receiver held all of them; None: timed out
    arrived: int


def expected_events(target: Greenlane, created: list[tuple[int, int]]) -> int:
    """application.created plus one application.transitioned per version step, for these applications."""
    total = 0
    for application_id, first_version in created:
        now = httpx.get(f"{target.base_url}/api/v1/applications/{application_id}", headers=target.headers, timeout=30)
        total += 1 + int(now.json()["version"]) - first_version
    return total


def wait_for_drain(target: Greenlane, receiver_url: str, created: list[tuple[int, int]], timeout: float) -> Drain:
    load_ended = time.perf_counter()
    applications = [application_id for application_id, _ in created]
    at_end = sum(delivered(receiver_url, applications)[0])
    expected = expected_events(target, created) * SUBSCRIPTIONS
    if at_end >= expected:
        return Drain(expected, at_end, 0.0, at_end)  # the worker kept up: no backlog at all
    while (elapsed := time.perf_counter() - load_ended) < timeout:
        per_lane, _ = delivered(receiver_url, applications)
        if sum(per_lane) >= expected:
            return Drain(expected, at_end, elapsed, sum(per_lane))
        time.sleep(0.05)
    return Drain(expected, at_end, None, sum(delivered(receiver_url, applications)[0]))


@dataclass(frozen=True)
class Row:
    round: int
    load: float  # 1-minute load average just before the pair
    none: Result
    three: Result
    drain: Drain


def run_pair(quiet: Greenlane, busy: Greenlane, receiver_url: str, round_number: int, level: tuple[int, int],
             drain_timeout: float) -> Row:  # fmt: skip
    """The same load on the server without subscriptions and on the one with three (then its drain); the
    order alternates between rounds so that drift in the machine's other work does not favour one side."""
    clients, total = level
    load = os.getloadavg()[0]
    none = run_level(quiet, clients, total) if round_number % 2 == 1 else None
    before = len(busy.created)
    three = run_level(busy, clients, total)
    drain = wait_for_drain(busy, receiver_url, busy.created[before:], drain_timeout)
    none = none or run_level(quiet, clients, total)
    return Row(round_number, load, none, three, drain)


def server_env(database_url: str) -> dict[str, str]:
    return {"GREENLANE_DATABASE_URL": database_url, "GREENLANE_DEMO": "true",
            "GREENLANE_SECRET_KEY": secrets.token_hex(32), "GREENLANE_WEBHOOK_WORKER": "true",
            "GREENLANE_WEBHOOK_POLL_SECONDS": POLL_SECONDS}  # fmt: skip


def left_over(target: Greenlane) -> str:
    """Deliveries the server itself still holds as pending or dead (up to 200 of each)."""
    counts = []
    for status in ("pending", "dead"):
        listed = httpx.get(f"{target.base_url}/api/v1/webhooks/deliveries", params={"status": status, "limit": 200},
                           headers=target.admin_headers, timeout=30)  # fmt: skip
        counts.append(f"{status}: {len(listed.json())}")
    return ", ".join(counts)


ANSI = re.compile(r"\x1b\[[0-9;]*m")


def log_trouble(log: Path) -> str:
    lines = [ANSI.sub("", line) for line in log.read_text(errors="replace").splitlines()]
    bad = [line for line in lines if re.search(r"\[(error|critical|warning)|Traceback|worker_failed", line)]
    attempted = [line + " " for line in lines if "webhook_attempted" in line]
    retried = sum(1 for line in attempted if "attempts=1 " not in line)
    summary = f"{len(bad)} warning/error lines, {len(attempted)} delivery attempts logged ({retried} retries)"
    return summary + (f"; first: {bad[0][:200]}" if bad else "")


def print_tables(backend: str, rows: list[Row]) -> None:
    report(f"backend: {backend}   cpus: {os.cpu_count()}   worker poll: {POLL_SECONDS} s   subscriptions: 0 vs 3")
    header = (f"{'round':>5} {'clients':>7} {'requests':>8} {'load':>5} | {'none req/s':>10} {'p50 ms':>7} "
              f"{'p99 ms':>7} | {'three req/s':>11} {'p50 ms':>7} {'p99 ms':>7} | {'ratio':>5}")  # fmt: skip
    report(header)
    report("-" * len(header))
    for row in rows:
        none, three, ratio = row.none, row.three, row.three.rate / row.none.rate
        report(f"{row.round:>5} {none.clients:>7} {none.requests:>8} {row.load:>5.2f} | {none.rate:>10.1f} "
               f"{none.percentile(0.5):>7.1f} {none.percentile(0.99):>7.1f} | {three.rate:>11.1f} "
               f"{three.percentile(0.5):>7.1f} {three.percentile(0.99):>7.1f} | {ratio:>5.2f}")  # fmt: skip
    for clients, _ in LEVELS:
        ratios = [row.three.rate / row.none.rate for row in rows if row.none.clients == clients]
        report(f"median ratio with {clients} client(s) over {len(ratios)} round(s): {statistics.median(ratios):.2f}")
    failed = [(r.clients, r.errors) for row in rows for r in (row.none, row.three) if r.errors]
    report(f"non-200 responses (clients, count): {failed}" if failed else "every timed request answered 200")
    report()
    header = (f"{'round':>5} {'clients':>7} | {'expected':>8} {'at load end':>11} {'in-load /s':>10} "
              f"{'drain s':>7} {'arrived':>8}")  # fmt: skip
    report(header)
    report("-" * len(header))
    for row in rows:
        drain = row.drain
        seconds = f"{drain.seconds:>7.2f}" if drain.seconds is not None else f"{'TIMEOUT':>7}"
        report(f"{row.round:>5} {row.three.clients:>7} | {drain.expected:>8} {drain.during_load:>11} "
               f"{drain.during_load / row.three.seconds:>10.1f} {seconds} {drain.arrived:>8}")  # fmt: skip


def receiver_summary(stats: dict[str, Any]) -> str:
    lanes = [stats["lanes"].get(str(index), {}) for index in range(SUBSCRIPTIONS)]
    parts = [f"#{i}: {lane.get('received', 0)} received, {lane.get('verified', 0)} verified, "
             f"{lane.get('failed', 0)} failed, {lane.get('duplicates', 0)} duplicates"
             for i, lane in enumerate(lanes)]  # fmt: skip
    return "receiver " + "; ".join(parts) + f"; still waiting for a secret: {stats['waiting']}"


def run(arguments: argparse.Namespace, workdir: Path) -> None:
    rows: list[Row] = []
    with ExitStack() as stack:
        receiver_url = stack.enter_context(receiver())
        quiet_url, busy_url = stack.enter_context(databases(arguments.database_url, workdir, "none", "three"))
        quiet_base = stack.enter_context(server("api.app:create_app", server_env(quiet_url), workdir / "none.log"))
        busy_base = stack.enter_context(server("api.app:create_app", server_env(busy_url), workdir / "three.log"))
        quiet, busy = Greenlane(quiet_base), Greenlane(busy_base)
        subscribe(busy, receiver_url)
        for round_number in range(1, arguments.rounds + 1):
            for level in LEVELS:
                rows.append(run_pair(quiet, busy, receiver_url, round_number, level, arguments.drain_timeout))
        audits = [quiet.audit_summary(), busy.audit_summary()]
        held = left_over(busy)
        stats = delivered(receiver_url, [])[1]
        stack.close()  # servers stopped, so their logs are complete
        print_tables("postgresql" if arguments.database_url else "sqlite (WAL)", rows)
        report(receiver_summary(stats))
        report(f"server with subscriptions still holds deliveries: {held}")
        report(f"none  {audits[0]}; log: {log_trouble(workdir / 'none.log')}")
        report(f"three {audits[1]}; log: {log_trouble(workdir / 'three.log')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="a PostgreSQL server (postgresql+psycopg://...); temp databases")
    parser.add_argument("--rounds", type=int, default=3, help="repeat the pairs, order alternating; median ratio")
    parser.add_argument("--drain-timeout", type=float, default=300.0, help="seconds to wait for the backlog")
    arguments = parser.parse_args()
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="greenlane-bench-") as directory:
        run(arguments, Path(directory))
    report(f"total time: {time.monotonic() - began:.0f} s")


if __name__ == "__main__":
    main()
