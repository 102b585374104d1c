"""告知承诺制 and credit (PROCESS.md §5 E): S11's day-6 credit push and S13's credit-platform bar, over the
API with the demo accounts, the injected clock, the scheduler's run and signed inbound hooks."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from api.db.models import Organisation, OutboxEvent, User
from api.services import scheduler
from api.services.auth import hash_password
from api.services.webhooks import new_secret
from engine.clock import FixedClock
from tests.api.test_webhooks import post_hook, register_source
from tests.factories import COMMITMENT, Api, at, audit, context_of, project_approval_data


def outbox_types(api: Api, application: dict[str, Any]) -> list[str]:
    with context_of(api).db.read() as session:
        query = select(OutboxEvent).where(OutboxEvent.application_id == application["id"])
        return [event.type for event in session.exec(query.order_by(col(OutboxEvent.id)))]


def current(api: Api, application: dict[str, Any]) -> dict[str, Any]:
    return dict(api.get("admin", f"/api/v1/applications/{application['id']}").json())


def granted_on_commitment(api: Api, clock: FixedClock, username: str, granted_on: str) -> dict[str, Any]:
    """A simple low-risk project through joint review and the commitment, permitted on ``granted_on``."""
    application = api.created(username, "project_approval", project_approval_data(low_risk=True, commitment=True))
    application = api.step("city.zhujian", api.step(username, application, "submit"), "accept")
    application = api.step("city.fagai", application, "approve_initiation", data={"initiation_doc_no": "X"})
    application = api.step("city.zrzy", application, "approve_planning", data={"planning_permit_no": "Y"})
    application = api.step(username, application, "sign_commitment", data=COMMITMENT)
    at(clock, granted_on)
    return api.step("city.zhujian", application, "grant_on_commitment", data={"permit_no": "SG-C-11"})


def order_rectification(api: Api, application: dict[str, Any], rectify_by: str) -> dict[str, Any]:
    return api.step("city.zhujian", application, "order_rectification", comment="消防通道宽度低于承诺值",
                    data={"rectify_by": rectify_by, "rectification_items": ["消防通道拓宽至 4 米"]})  # fmt: skip


def test_s11_rectification_not_done_credit_push_on_day_6_then_revoked(api: Api, clock: FixedClock) -> None:
    at(clock, "2026-05-25")
    application = granted_on_commitment(api, clock, "owner2", "2026-06-01")
    assert (application["state"], application["clock"]["due"]) == ("post_check", "2026-07-14")
    at(clock, "2026-06-10")
    too_early = api.fire("city.zhujian", application, "order_rectification", comment="x",
                         data={"rectify_by": "2026-06-10", "rectification_items": ["x"]})  # fmt: skip
    assert too_early.status_code == 422 and too_early.json()["context"]["field"] == "rectify_by"
    assert current(api, application)["version"] == application["version"]
    application = order_rectification(api, application, "2026-06-25")
    assert (application["state"], application["outcome"]) == ("rectifying", "approved")
    assert application["clock"]["due"] == "2026-06-25"  # the date the checker set
    # the system's own action cannot be fired by a person
    assert api.fire("city.zhujian", application, "credit_push").status_code == 403

    context = context_of(api)
    at(clock, "2026-06-25", hour=23)
    assert scheduler.run_due_timers(context) == 1  # only the reminder, 3 working days before (06-22)
    assert outbox_types(api, application)[-1] == "application.reminder"
    assert current(api, application)["overdue"] is False
    at(clock, "2026-06-26", hour=0)
    assert scheduler.run_due_timers(context) == 1
    late = current(api, application)
    assert (late["state"], late["overdue"]) == ("rectifying", True)
    assert "application.overdue" in outbox_types(api, application)
    at(clock, "2026-06-30", hour=23)
    assert scheduler.run_due_timers(context) == 0
    at(clock, "2026-07-01", hour=0)  # the sixth calendar day after 06-25
    assert scheduler.run_due_timers(context) == 1
    assert scheduler.run_due_timers(context) == 0  # once
    pushed = audit(api, application)[-1]
    assert (pushed["action"], pushed["actor"], pushed["to_state"]) == ("credit_push", "system", "rectifying")
    assert pushed["data"]["credit"]["deadline"] == "2026-06-25"
    assert pushed["data"]["credit"]["organisation"] == "demo_renewal_co2"
    assert outbox_types(api, application)[-2:] == ["application.transitioned", "credit_record.pushed"]
    assert current(api, application)["state"] == "rectifying"

    at(clock, "2026-07-03")
    application = api.step("city.zhujian", current(api, application), "revoke", comment="逾期未整改，承诺未履行")
    assert (application["state"], application["outcome"]) == ("revoked", "revoked")
    records = api.get("admin", "/api/v1/credit-records").json()
    assert [(r["organisation"], r["bar_until"]) for r in records] == [("demo_renewal_co2", "2027-07-02")]
    actions = [e["action"] for e in audit(api, application)]
    expected = ["grant_on_commitment", "order_rectification", "overdue", "credit_push", "revoke"]
    assert [a for a in actions if a in expected] == expected


def test_s11_variant_rectified_in_time_means_no_credit_push(api: Api, clock: FixedClock) -> None:
    at(clock, "2026-05-25")
    application = granted_on_commitment(api, clock, "owner2", "2026-06-01")
    at(clock, "2026-06-10")
    application = order_rectification(api, application, "2026-06-25")
    at(clock, "2026-06-24")
    application = api.step("owner2", application, "submit_rectification", comment="已拓宽，附照片")
    assert application["state"] == "post_check"
    application = api.step("city.zhujian", application, "pass_check")
    assert (application["state"], application["outcome"]) == ("check_passed", "approved")
    at(clock, "2026-07-02")
    assert scheduler.run_due_timers(context_of(api)) == 0  # the rectification timers are stale
    assert "credit_push" not in [e["action"] for e in audit(api, application)]
    assert "credit_record.pushed" not in outbox_types(api, application)


def _credit_platform_account(api: Api) -> None:
    """The demo has no credit-platform account: add one, as an admin would, for the platform's hooks."""
    context = context_of(api)
    with context.db.write() as session:
        platform = Organisation(code="credit_platform", name="市公共信用信息平台")
        session.add(platform)
        session.flush()
        assert platform.id is not None
        now = context.clock.now()
        account = User(username="credit.platform", display_name=platform.name, password_hash=hash_password("demo"),
                       organisation_id=platform.id, roles=["credit_platform"], created_at=now)  # fmt: skip
        session.add(account)


def report(api: Api, secret: str, application: dict[str, Any], clock: FixedClock, serious: bool) -> Any:
    body = {"application_id": application["id"], "transition": "report_credit",
            "data": {"serious_bad_credit": serious, "credit_record_no": "XY-2026-0917"}}  # fmt: skip
    return post_hook(api, "credit_platform", secret, body, clock.now())


def test_s13_serious_bad_credit_bars_the_fast_path_until_repaired(api: Api, clock: FixedClock) -> None:
    _credit_platform_account(api)
    secret = register_source(api, "credit_platform", "credit.platform")
    at(clock, "2026-09-14")
    application = api.created("owner2", "project_approval", project_approval_data(low_risk=True, commitment=True))
    # the applicant cannot report on itself; a forged report changes nothing
    own = api.fire("owner2", application, "report_credit", data={"serious_bad_credit": False})
    assert own.status_code == 403
    forged = post_hook(api, "credit_platform", new_secret(), {"application_id": application["id"],
                       "transition": "report_credit", "data": {"serious_bad_credit": True}}, clock.now())  # fmt: skip
    assert forged.status_code == 401
    reported = report(api, secret, application, clock, serious=True)
    assert reported.status_code == 200, reported.text
    application = reported.json()
    entry = audit(api, application)[-1]
    assert (entry["action"], entry["actor"]) == ("report_credit", "credit.platform")
    assert entry["data"]["credit"]["serious_bad_credit"] is True

    before = audit(api, application)
    refused = api.fire("owner2", application, "submit")
    assert refused.status_code == 422 and "严重失信记录未修复" in refused.json()["detail"]
    assert audit(api, application) == before and current(api, application)["version"] == application["version"]
    application = api.step("owner2", application, "submit", data={"commitment": False})
    assert application["state"] == "submitted"  # the normal route stays open
    records = api.get("admin", "/api/v1/credit-records").json()
    assert [(r["organisation"], r["until_repaired"], r["bar_in_force"]) for r in records] == [
        ("demo_renewal_co2", True, True)
    ]
    # another organisation is not affected
    other = api.created("owner", "project_approval", project_approval_data(low_risk=True, commitment=True))
    assert api.step("owner", other, "submit")["state"] == "submitted"

    at(clock, "2026-10-12")
    fresh = api.created("owner2", "project_approval", project_approval_data(low_risk=True, commitment=True))
    repaired = report(api, secret, fresh, clock, serious=False)
    assert repaired.status_code == 200, repaired.text
    assert audit(api, fresh)[-1]["data"]["credit"]["repaired_records"] == [records[0]["id"]]
    lifted = api.get("admin", "/api/v1/credit-records").json()[0]
    assert lifted["bar_in_force"] is False and "信用修复" in lifted["lift_reason"]
    fresh = api.step("owner2", repaired.json(), "submit")
    fresh = api.step("city.zhujian", fresh, "accept")
    fresh = api.step("city.fagai", fresh, "approve_initiation", data={"initiation_doc_no": "X"})
    fresh = api.step("city.zrzy", fresh, "approve_planning", data={"planning_permit_no": "Y"})
    assert api.step("owner2", fresh, "sign_commitment", data=COMMITMENT)["state"] == "commitment_permit"
