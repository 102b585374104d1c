"""R1 月度通报 section A (S25) and R5 超期清单 (S16) over the API, with the injected clock."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

import pytest

from api.services import scheduler
from engine.clock import FixedClock
from tests.factories import Api, assert_problem, at, context_of, implementation_plan_data, unit_plan_data

OFFICE = "dongcheng.zhujian"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 2, 13, 1, 0, tzinfo=UTC))  # 2026-02-13 09:00 Shanghai


def _s04_and_s18(api: Api, clock: FixedClock) -> None:
    """S04 (two 补正 pauses, approved 04-15, filed 04-22) and S18 (submitted 04-30, not yet accepted)."""
    s04 = api.step("owner", api.created("owner", "implementation_plan", implementation_plan_data()), "publish_notice")
    at(clock, "2026-03-02")
    s04 = api.step("owner", s04, "submit")
    at(clock, "2026-03-04")
    s04 = api.step(OFFICE, s04, "accept")
    at(clock, "2026-03-10")
    s04 = api.step(OFFICE, s04, "request_supplement", data={"items": ["运营方案缺收益测算", "资金安排缺银行函"]})
    at(clock, "2026-03-17")
    s04 = api.step("owner", s04, "supplement")
    at(clock, "2026-03-24")
    s04 = api.step(OFFICE, s04, "request_supplement",
                   data={"items": ["银行函未盖章"], "repeat_reason": "新提交的银行函未盖章"})  # fmt: skip
    at(clock, "2026-03-31")
    s04 = api.step("owner", s04, "supplement")
    at(clock, "2026-04-08")
    s04 = api.step(OFFICE, s04, "pass_review", data={"review_opinion": "同意"})
    at(clock, "2026-04-15")
    s04 = api.step("dongcheng.gov", s04, "approve", data={"approval_doc_no": "东政字〔2026〕8号"})
    s18 = api.step("owner", api.created("owner", "implementation_plan", implementation_plan_data()), "publish_notice")
    at(clock, "2026-04-20")
    s04 = api.step("owner", s04, "file")
    at(clock, "2026-04-22")
    s04 = api.step("city.zhuanban", s04, "acknowledge_filing", data={"filing_no": "BA-2026-001"})
    assert s04["state"] == "filed"
    at(clock, "2026-04-30", hour=16)
    api.step("owner", s18, "submit")


def _row(report: dict[str, Any], district: str | None, workflow: str | None) -> dict[str, Any]:
    return next(r for r in report["rows"] if (r["district"], r["workflow"]) == (district, workflow))


FIGURES = ("received", "accepted", "refused", "approved", "rejected", "filed", "withdrawn", "revoked",
           "open_at_month_end", "overdue_at_month_end", "decided_late", "supplements")  # fmt: skip


def test_s25_monthly_bulletin_for_april(api: Api, clock: FixedClock) -> None:
    _s04_and_s18(api, clock)
    at(clock, "2026-05-06")  # generated on the first working day of May
    response = api.get("city.zhuanban", "/api/v1/reports/monthly", params={"month": "2026-04"})
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["month"], report["as_of"]) == ("2026-04", "2026-04-30")
    row = _row(report, "dongcheng", "implementation_plan")
    assert (row["district_name"], row["workflow_title"]) == ("东城区", "城市更新项目实施方案审批")
    assert {name: row[name] for name in FIGURES} == {
        "received": 1, "accepted": 0, "refused": 0, "approved": 1, "rejected": 0, "filed": 1, "withdrawn": 0,
        "revoked": 0, "open_at_month_end": 1, "overdue_at_month_end": 0, "decided_late": 0, "supplements": 0,
    }  # fmt: skip
    assert (row["median_net_working_days"], row["median_gross_working_days"]) == (19, 29)
    assert {name: _row(report, "dongcheng", None)[name] for name in FIGURES} == {name: row[name] for name in FIGURES}
    assert _row(report, None, None)["approved"] == 1 and _row(report, None, None)["median_net_working_days"] == 19
    linhe = [r for r in report["rows"] if r["district"] == "linhe"]
    assert len(linhe) == len({r["workflow"] for r in report["rows"]}) and all(
        all(r[name] == 0 for name in FIGURES) and r["median_net_working_days"] is None for r in linhe
    )
    others = [
        r for r in report["rows"] if r["district"] == "dongcheng" and r["workflow"] not in (None, row["workflow"])
    ]
    assert others and all(all(r[name] == 0 for name in FIGURES) for r in others)


def test_march_counts_the_supplement_requests_and_the_acceptance(api: Api, clock: FixedClock) -> None:
    _s04_and_s18(api, clock)
    report = api.get("city.gov", "/api/v1/reports/monthly",
                     params={"month": "2026-03", "workflow": "implementation_plan"}).json()  # fmt: skip
    row = _row(report, "dongcheng", "implementation_plan")
    assert (row["received"], row["accepted"], row["supplements"], row["approved"]) == (1, 1, 2, 0)
    assert (row["open_at_month_end"], row["median_net_working_days"]) == (1, None)
    assert {r["workflow"] for r in report["rows"]} == {"implementation_plan", None}


def test_monthly_csv_has_the_bom_and_chinese_headers(api: Api, clock: FixedClock) -> None:
    _s04_and_s18(api, clock)
    response = api.get("dongcheng.zhujian", "/api/v1/reports/monthly", params={"month": "2026-04", "format": "csv"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.content.startswith("\ufeff".encode())
    header, *rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert header[:4] == ["区县", "审批事项", "新收件", "受理"] and header[-2:] == [
        "中位办理工作日（净）", "中位办理工作日（总）"
    ]  # fmt: skip
    row = next(r for r in rows if r[:2] == ["东城区", "城市更新项目实施方案审批"])
    assert row[2:] == ["1", "0", "0", "1", "0", "1", "0", "0", "1", "0", "0", "0", "19", "29"]
    assert {r[0] for r in rows} == {"东城区", "全部区县"}  # a district body sees its own district only


def test_a_county_body_sees_its_own_county_and_an_applicant_nothing(api: Api, clock: FixedClock) -> None:
    _s04_and_s18(api, clock)
    own = api.get("linhe.zhujian", "/api/v1/reports/monthly", params={"month": "2026-04"}).json()
    assert {r["district"] for r in own["rows"]} == {"linhe", None}
    assert all(r["received"] == 0 for r in own["rows"])
    other = api.get("linhe.zhujian", "/api/v1/reports/monthly", params={"month": "2026-04", "district": "dongcheng"})
    assert_problem(other, 403, "permission_denied")
    assert_problem(api.get("linhe.zhujian", "/api/v1/reports/overdue", params={"district": "dongcheng"}),
                   403, "permission_denied")  # fmt: skip
    for path in ("/api/v1/reports/monthly?month=2026-04", "/api/v1/reports/overdue"):
        assert_problem(api.get("owner", path), 403, "permission_denied")
    assert api.client.get("/api/v1/reports/overdue").status_code == 401


@pytest.mark.parametrize("month", ["2026-13", "2026-4", "April", "2026-04-01", "1999-12"])
def test_a_malformed_month_is_a_422_in_chinese(api: Api, month: str) -> None:
    body = assert_problem(api.get("city.zhuanban", "/api/v1/reports/monthly", params={"month": month}),
                          422, "invalid_data")  # fmt: skip
    assert "YYYY-MM" in body["detail"]


def test_a_month_not_yet_begun_is_a_422(api: Api) -> None:
    body = assert_problem(api.get("city.zhuanban", "/api/v1/reports/monthly", params={"month": "2026-03"}),
                          422, "invalid_data")  # fmt: skip
    assert "尚未开始" in body["detail"]
    assert api.get("city.zhuanban", "/api/v1/reports/monthly", params={"month": "2026-02"}).status_code == 200


def test_unknown_district_or_workflow_is_a_422(api: Api) -> None:
    for params in ({"district": "xicheng"}, {"workflow": "nothing"}):
        response = api.get("city.zhuanban", "/api/v1/reports/monthly", params={"month": "2026-04", **params})
        assert_problem(response, 422, "invalid_data")


def _s16(api: Api, clock: FixedClock, with_plan_due_on_0901: bool = False) -> list[dict[str, Any]]:
    """S16's step: a county unit plan accepted 08-03 → `planning_review`, due 08-31; optionally a
    东城区 implementation plan accepted 08-04, due 09-01."""
    at(clock, "2026-06-30")
    plan = api.created("linhe.zhujian", "unit_plan", unit_plan_data(district="linhe", unit_id="LH-U-16"))
    plans = [api.step("linhe.zhujian", plan, "publish_notice")]
    if with_plan_due_on_0901:
        plans.append(api.step("owner", api.created("owner", "implementation_plan", implementation_plan_data()),
                              "publish_notice"))  # fmt: skip
    at(clock, "2026-07-31")
    plans = [api.step("owner" if p["workflow"] == "implementation_plan" else "linhe.zhujian", p, "submit")
             for p in plans]  # fmt: skip
    at(clock, "2026-08-03")
    plans[0] = api.step("linhe.zrzy", plans[0], "accept")
    assert (plans[0]["state"], plans[0]["clock"]["due"]) == ("planning_review", "2026-08-31")
    if with_plan_due_on_0901:
        at(clock, "2026-08-04")
        plans[1] = api.step(OFFICE, plans[1], "accept")
        assert plans[1]["clock"]["due"] == "2026-09-01"
    return plans


def test_s16_overdue_step_listed_with_its_escalation(api: Api, clock: FixedClock) -> None:
    plan, due_soon = _s16(api, clock, with_plan_due_on_0901=True)
    at(clock, "2026-09-01", hour=0)
    scheduler.run_due_timers(context_of(api))
    at(clock, "2026-09-01")
    report = api.get("city.zhuanban", "/api/v1/reports/overdue").json()
    assert report["as_of"] == "2026-09-01"
    [row] = report["rows"]
    assert row["application_id"] == plan["id"]
    assert (row["district_name"], row["workflow"], row["state_title"]) == ("临河县", "unit_plan", "自规部门审核")
    assert (row["step_started_on"], row["deadline"]) == ("2026-08-03", "2026-08-31")
    assert (row["overdue_working_days"], row["overdue_days"]) == (1, 1)
    assert (row["extended"], row["paused"], row["due_soon"]) == (False, False, False)
    assert row["responsible_roles"] == ["自然资源和规划局"]
    assert {"role": "city_task_force"} in row["escalated_to"] and "市城市更新工作专班" in row["escalated_to_text"]
    assert {"role": "local_renewal_office", "district": "linhe"} in row["escalated_to"]
    assert row["last_action_at"].startswith("2026-08-03")  # 受理, not the system's entries of 09-01

    with_soon = api.get("city.zhuanban", "/api/v1/reports/overdue", params={"include_due_soon": "true"}).json()
    assert [(r["application_id"], r["due_soon"]) for r in with_soon["rows"]] == [
        (plan["id"], False), (due_soon["id"], True)
    ]  # fmt: skip
    assert [r["application_id"] for r in api.get("linhe.zhujian", "/api/v1/reports/overdue").json()["rows"]] == [
        plan["id"]
    ]
    assert api.get(OFFICE, "/api/v1/reports/overdue").json()["rows"] == []
    assert (
        api.get("city.zhuanban", "/api/v1/reports/overdue", params={"workflow": "implementation_plan"}).json()["rows"]
        == []
    )


def test_overdue_csv(api: Api, clock: FixedClock) -> None:
    [plan] = _s16(api, clock)
    at(clock, "2026-09-01", hour=0)
    scheduler.run_due_timers(context_of(api))
    response = api.get("linhe.zhujian", "/api/v1/reports/overdue", params={"format": "csv"})
    assert response.status_code == 200 and response.content.startswith("\ufeff".encode())
    header, row = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert header[:2] == ["申请编号", "申请名称"] and "超期工作日" in header and "已提级督办至" in header
    assert row[0] == str(plan["id"]) and row[header.index("超期工作日")] == "1"
    assert row[header.index("办理期限")] == "2026-08-31" and row[header.index("区县")] == "临河县"
