"""The audit trail: verification over the API, tamper detection, append-only triggers, and
migrations that match the models. Raw database access goes through its own engine, as an
attacker (or an operator) with direct access to the database would."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

from api.db.migrate import check_models_match
from api.db.models import AuditEvent
from api.services.audit_trail import event_hash
from tests.factories import Api, implementation_plan_data


@contextmanager
def raw_connection(database_url: str) -> Iterator[Connection]:
    """One committed transaction on a separate engine, disposed afterwards."""
    engine = create_engine(database_url)
    try:
        with engine.begin() as connection:
            yield connection
    finally:
        engine.dispose()


@contextmanager
def triggers_disabled(database_url: str) -> Iterator[Connection]:
    """Switch the append-only triggers off, as someone with file or superuser access could."""
    with raw_connection(database_url) as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("ALTER TABLE auditevent DISABLE TRIGGER auditevent_append_only"))
        else:
            connection.execute(text("DROP TRIGGER auditevent_no_update"))
            connection.execute(text("DROP TRIGGER auditevent_no_delete"))
        yield connection


def verify(api: Api) -> dict[str, Any]:
    response = api.get("admin", "/api/v1/audit/verify")
    assert response.status_code == 200, response.text
    return dict(response.json())


def with_history(api: Api) -> int:
    """Two applications with a few transitions, so the trail has at least five events; returns the count."""
    for username in ("owner", "owner2"):
        application = api.created(username, "implementation_plan", implementation_plan_data())
        application = api.step(username, application, "publish_notice", comment="公示")
    api.step("owner2", application, "withdraw", comment="撤回原因")
    body = verify(api)
    assert body["ok"] is True, body
    assert body["events"] >= 5
    return int(body["events"])


def test_verify_as_admin_counts_every_event(api: Api) -> None:
    before = verify(api)
    assert before == {"ok": True, "events": before["events"], "first_bad_seq": None}
    application = api.created("owner", "implementation_plan", implementation_plan_data())
    api.step("owner", application, "publish_notice")
    assert verify(api) == {"ok": True, "events": before["events"] + 2, "first_bad_seq": None}


@pytest.mark.parametrize("username", ["owner", "dongcheng.gov", "city.zhuanban"])
def test_verify_is_admin_only(api: Api, username: str) -> None:
    response = api.get(username, "/api/v1/audit/verify")
    assert response.status_code == 403, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "permission_denied"


def test_verify_needs_a_token(api: Api) -> None:
    assert api.client.get("/api/v1/audit/verify").status_code == 401


def test_an_edited_event_is_named_by_verify(api: Api, database_url: str) -> None:
    with_history(api)
    with triggers_disabled(database_url) as connection:
        changed = connection.execute(text("UPDATE auditevent SET comment = '已篡改' WHERE seq = 3")).rowcount
        assert changed == 1
    body = verify(api)
    assert body["ok"] is False, body
    assert body["first_bad_seq"] == 3


def test_an_edited_event_with_its_hash_recomputed_breaks_the_next_link(api: Api, database_url: str) -> None:
    with_history(api)
    with triggers_disabled(database_url) as connection:
        event = Session(bind=connection).get_one(AuditEvent, 3)  # typed: aware `at`, decoded `data`
        forged = event_hash(
            prev_hash=event.prev_hash, seq=event.seq, at=event.at, actor=event.actor,
            application_id=event.application_id, action=event.action, from_state=event.from_state,
            to_state=event.to_state, comment="已篡改", data=event.data,
        )  # fmt: skip
        connection.execute(
            text("UPDATE auditevent SET comment = '已篡改', hash = :forged WHERE seq = 3"), {"forged": forged}
        )
    body = verify(api)
    assert body["ok"] is False, body
    assert body["first_bad_seq"] == 4  # seq 3 is self-consistent now, but seq 4 still links to its old hash


def test_a_deleted_last_event_is_detected(api: Api, database_url: str) -> None:
    events = with_history(api)
    with triggers_disabled(database_url) as connection:
        deleted = connection.execute(text("DELETE FROM auditevent WHERE seq = :seq"), {"seq": events}).rowcount
        assert deleted == 1
    assert verify(api) == {"ok": False, "events": events - 1, "first_bad_seq": events}


def test_a_deleted_middle_event_is_detected(api: Api, database_url: str) -> None:
    with_history(api)
    with triggers_disabled(database_url) as connection:
        connection.execute(text("DELETE FROM auditevent WHERE seq = 2"))
    body = verify(api)
    assert body["ok"] is False, body
    assert body["first_bad_seq"] == 3  # the event now counted second is seq 3


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE auditevent SET comment = '改写' WHERE seq = 1",
        "UPDATE auditevent SET hash = prev_hash",
        "DELETE FROM auditevent WHERE seq = 1",
        "DELETE FROM auditevent",
    ],
)
def test_the_database_refuses_to_update_or_delete_audit_rows(api: Api, database_url: str, statement: str) -> None:
    events = with_history(api)
    with pytest.raises(DBAPIError, match="append-only"), raw_connection(database_url) as connection:
        connection.execute(text(statement))
    assert verify(api) == {"ok": True, "events": events, "first_bad_seq": None}


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audithead SET seq = 0, hash = '" + "0" * 64 + "'",  # rewind, then truncate or re-append
        "UPDATE audithead SET seq = seq",
        "DELETE FROM audithead",
    ],
)
def test_the_chain_head_only_moves_forward(api: Api, database_url: str, statement: str) -> None:
    events = with_history(api)
    with pytest.raises(DBAPIError, match="only moves forward"), raw_connection(database_url) as connection:
        connection.execute(text(statement))
    assert verify(api) == {"ok": True, "events": events, "first_bad_seq": None}
    with_history(api)  # appending still moves the head
    assert verify(api)["ok"] is True


@pytest.mark.parametrize("table", ["auditevent", "audithead"])
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # SQLite has no TRUNCATE
def test_postgresql_refuses_to_truncate_the_trail(api: Api, database_url: str, table: str) -> None:
    events = with_history(api)
    with pytest.raises(DBAPIError, match="refused"), raw_connection(database_url) as connection:
        connection.execute(text(f"TRUNCATE {table}"))
    assert verify(api) == {"ok": True, "events": events, "first_bad_seq": None}


def test_migrations_match_the_models(database_url: str) -> None:
    check_models_match(database_url)  # raises AutogenerateDiffsDetected on any drift
