"""Transition throughput and latency of a real Greenlane server, as ratios to a same-run baseline.

    .venv/bin/python bench/bench_transitions.py [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/x]

Starts Greenlane (uvicorn --factory api.app:create_app) on a free loopback port with a fresh
database, publishes a one-state workflow whose `touch` transition loops back to its own state,
and lets 1, 16 and 64 client threads fire it on one application each (keeping expected_version),
for a bounded number of requests per level. Then serves bench/baseline_app.py (one SQLModel
insert + commit) the same way and hits it with the same clients. Prints one table; the ratio
column is what to compare between runs and machines, not the absolute numbers.
"""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
LEVELS = ((1, 400), (16, 1600), (64, 3200))  # (concurrent clients, requests in total)
WARM_UP_PER_CLIENT = 2
WORKFLOW_KEY = "bench_loop"
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

Fire = Callable[[], int]  # one timed request; returns the HTTP status


def report(line: str = "") -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def python() -> str:
    venv = ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def server(app: str, env: dict[str, str], log: Path, app_dir: Path | None = None) -> Iterator[str]:
    """uvicorn --factory on a free loopback port; yields the base url once /healthz answers."""
    port = free_port()
    command = [python(), "-m", "uvicorn", "--factory", app, "--host", "127.0.0.1", "--port", str(port),
               "--no-access-log", "--log-level", "warning"]  # fmt: skip
    if app_dir is not None:
        command += ["--app-dir", str(app_dir)]
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env}, stdout=output, stderr=output)
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base_url, process, log)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_healthy(base_url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"server did not become healthy:\n{log.read_text(errors='replace')[-3000:]}")


class Greenlane:
    """Each client owns one bench_loop application and fires `touch` on it, keeping its version."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        admin = self._token("admin")
        published = httpx.put(
            f"{base_url}/api/v1/workflows/{WORKFLOW_KEY}",
            content=WORKFLOW_YAML.encode(),
            headers={"Authorization": f"Bearer {admin}", "Content-Type": "application/yaml"},
            timeout=30,
        )
        if published.status_code not in (200, 201):
            raise SystemExit(f"publishing {WORKFLOW_KEY} failed: {published.status_code} {published.text}")
        self.admin_headers = {"Authorization": f"Bearer {admin}"}
        self.headers = {"Authorization": f"Bearer {self._token('owner')}"}
        self.created: list[tuple[int, int]] = []  # (id, version) of each client's application, in creation order

    def _token(self, username: str) -> str:
        response = httpx.post(
            f"{self.base_url}/api/v1/auth/token", data={"username": username, "password": "demo"}, timeout=30
        )
        response.raise_for_status()
        return str(response.json()["access_token"])

    def client_fire(self, client: httpx.Client, index: int) -> Fire:
        body = {"workflow": WORKFLOW_KEY, "title": f"基准 {index}", "data": {"district": "dongcheng"}}
        created = client.post("/api/v1/applications", json=body, headers=self.headers)
        created.raise_for_status()
        application = created.json()
        self.created.append((int(application["id"]), int(application["version"])))
        path = f"/api/v1/applications/{application['id']}/transitions/touch"
        version = [int(application["version"])]

        def fire() -> int:
            response = client.post(path, json={"expected_version": version[0], "comment": "", "data": {}},
                                   headers=self.headers)  # fmt: skip
            if response.status_code == 200:
                version[0] = int(response.json()["version"])
            return response.status_code

        return fire

    def audit_summary(self) -> str:
        verified = httpx.get(f"{self.base_url}/api/v1/audit/verify", headers=self.admin_headers, timeout=120)
        return f"audit verify: {verified.json()}"


class Baseline:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def client_fire(self, client: httpx.Client, index: int) -> Fire:
        def fire() -> int:
            return client.post(f"/rows/{index}").status_code

        return fire


@dataclass(frozen=True)
class Result:
    clients: int
    requests: int
    errors: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000


def run_level(target: Greenlane | Baseline, clients: int, total: int) -> Result:
    """``clients`` threads, each with its own httpx.Client, released together by a Barrier."""
    per_client = total // clients
    barrier = threading.Barrier(clients + 1)
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    finished: list[float] = []

    def work(index: int) -> None:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        with httpx.Client(base_url=target.base_url, timeout=60, limits=limits) as client:
            fire = target.client_fire(client, index)
            for _ in range(WARM_UP_PER_CLIENT):  # connection set up and first-touch costs, untimed
                fire()
            barrier.wait()
            for _ in range(per_client):
                started = time.perf_counter()
                status = fire()
                latencies[index].append(time.perf_counter() - started)
                errors[index] += status != 200
            finished.append(time.perf_counter())

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait(timeout=120)
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    timed = [latency for one_client in latencies for latency in one_client]
    return Result(clients, per_client * clients, sum(errors), max(finished) - started, timed)


def run_all(target: Greenlane | Baseline) -> list[Result]:
    return [run_level(target, clients, total) for clients, total in LEVELS]


@contextmanager
def databases(server_url: str | None, workdir: Path, *labels: str) -> Iterator[list[str]]:
    """One url per label: SQLite files in ``workdir``, or fresh databases on that PostgreSQL server, dropped after."""
    if server_url is None:
        yield [f"sqlite:///{workdir / f'{label}.db'}" for label in labels]
        return
    url = make_url(server_url)
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    names = [f"greenlane_bench_{label}_{uuid.uuid4().hex[:8]}" for label in labels]
    with psycopg.connect(admin, autocommit=True) as connection:
        for name in names:
            connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield [url.set(database=name).render_as_string(hide_password=False) for name in names]
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            for name in names:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def print_table(backend: str, greenlane: list[Result], baseline: list[Result]) -> None:
    report(f"backend: {backend}   python {platform.python_version()}   cpus: {os.cpu_count()}")
    header = (f"{'clients':>7} {'requests':>8} | {'greenlane req/s':>15} {'p50 ms':>7} {'p99 ms':>7} | "
              f"{'baseline req/s':>14} {'p50 ms':>7} {'p99 ms':>7} | {'ratio':>5}")  # fmt: skip
    report(header)
    report("-" * len(header))
    for ours, theirs in zip(greenlane, baseline, strict=True):
        report(
            f"{ours.clients:>7} {ours.requests:>8} | {ours.rate:>15.1f} {ours.percentile(0.5):>7.1f} "
            f"{ours.percentile(0.99):>7.1f} | {theirs.rate:>14.1f} {theirs.percentile(0.5):>7.1f} "
            f"{theirs.percentile(0.99):>7.1f} | {ours.rate / theirs.rate:>5.2f}"
        )
    failed = [(r.clients, r.errors) for r in greenlane + baseline if r.errors]
    report(f"non-200 responses (clients, count): {failed}" if failed else "every timed request answered 200")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="a PostgreSQL server (postgresql+psycopg://...); temp databases")
    arguments = parser.parse_args()
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="greenlane-bench-") as directory:
        workdir = Path(directory)
        with databases(arguments.database_url, workdir, "greenlane", "baseline") as (greenlane_url, baseline_url):
            env = {"GREENLANE_DATABASE_URL": greenlane_url, "GREENLANE_DEMO": "true",
                   "GREENLANE_SECRET_KEY": secrets.token_hex(32)}  # fmt: skip
            with server("api.app:create_app", env, workdir / "greenlane.log") as base_url:
                greenlane = Greenlane(base_url)
                ours = run_all(greenlane)
                audit = greenlane.audit_summary()
            baseline_env = {"BENCH_BASELINE_DATABASE_URL": baseline_url}
            with server("baseline_app:create_app", baseline_env, workdir / "baseline.log", ROOT / "bench") as base_url:
                theirs = run_all(Baseline(base_url))
    backend = "postgresql" if arguments.database_url else "sqlite (WAL)"
    print_table(backend, ours, theirs)
    report(audit)
    report(f"total time: {time.monotonic() - began:.0f} s")


if __name__ == "__main__":
    main()
