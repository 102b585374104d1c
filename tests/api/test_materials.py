"""Materials: upload with size and type limits, the sha256 in the audit trail, list and download."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from api.db.models import Material, OutboxEvent
from engine.clock import FixedClock
from tests.factories import Api, assert_problem, audit, implementation_plan_data, unit_plan_data, wait_out_notice

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 32


def upload(
    api: Api, username: str, application: dict[str, Any], filename: str, data: bytes, name: str = "项目实施方案"
) -> Any:
    path = f"/api/v1/applications/{application['id']}/materials"
    files = {"file": (filename, data, "application/octet-stream")}
    return api.client.post(path, data={"name": name}, files=files, headers=api.headers(username))


def stored(api: Api) -> list[Material]:
    context = api.client.app.state.context  # type: ignore[attr-defined]
    with context.db.read() as session:
        return list(session.exec(select(Material)))


def material_events(api: Api, application: dict[str, Any]) -> list[dict[str, Any]]:
    return [event for event in audit(api, application) if event["action"] == "material_uploaded"]


@pytest.fixture
def application(api: Api) -> dict[str, Any]:
    return api.created("owner", "implementation_plan", implementation_plan_data())


def test_pdf_is_stored_listed_audited_and_downloaded_unchanged(api: Api, application: dict[str, Any]) -> None:
    response = upload(api, "owner", application, "实施方案（盖章版）.pdf", PDF)
    assert response.status_code == 201, response.text
    material = response.json()
    digest = hashlib.sha256(PDF).hexdigest()
    assert material["sha256"] == digest
    assert (material["name"], material["size"], material["uploaded_by"]) == ("项目实施方案", len(PDF), "owner")
    assert material["content_type"] == "application/pdf"

    for username in ("owner", "dongcheng.zhujian"):  # the applicant and the reviewing office
        listed = api.get(username, f"/api/v1/applications/{application['id']}/materials")
        assert listed.status_code == 200, listed.text
        assert [m["sha256"] for m in listed.json()] == [digest]

    (event,) = material_events(api, application)
    assert event["data"]["sha256"] == digest
    assert event["data"]["size"] == len(PDF)
    assert event["data"]["filename"] == "实施方案（盖章版）.pdf"
    assert api.get("admin", "/api/v1/audit/verify").json()["ok"] is True

    download = api.get("dongcheng.zhujian", f"/api/v1/applications/{application['id']}/materials/{material['id']}")
    assert download.status_code == 200, download.text
    assert download.content == PDF
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["x-content-type-options"] == "nosniff"
    assert download.headers["content-disposition"].startswith("attachment;")
    assert "filename*=UTF-8''%E5%AE%9E" in download.headers["content-disposition"]

    context = api.client.app.state.context  # type: ignore[attr-defined]
    with context.db.read() as session:
        events = session.exec(select(OutboxEvent).where(OutboxEvent.application_id == application["id"]))
        types = [event.type for event in events]
    assert "application.material_uploaded" in types


def test_a_file_over_the_limit_is_413_and_nothing_is_stored(api: Api, application: dict[str, Any]) -> None:
    limit = api.client.app.state.context.settings.max_upload_bytes  # type: ignore[attr-defined]
    just_over = b"%PDF-1.4\n" + b"0" * (limit - 8)  # one byte over: through the body limit, refused by the service
    assert_problem(upload(api, "owner", application, "big.pdf", just_over), 413, "payload_too_large")
    far_over = just_over + b"0" * 100_000  # past the body limit too: refused before any handler reads it
    assert_problem(upload(api, "owner", application, "bigger.pdf", far_over), 413, "payload_too_large")
    assert stored(api) == []
    assert material_events(api, application) == []


@pytest.mark.parametrize(
    ("filename", "data"),
    [
        ("setup.exe", b"MZ\x90\x00" + b"\x00" * 60),
        ("scan.pdf", PNG),  # a PNG renamed to .pdf
        ("photo.png", PDF),
        ("photo.jpg", PNG),
        ("notes", PDF),
        ("report.docx", PDF),
    ],
)
def test_a_type_not_allowed_or_not_matching_its_content_is_refused(
    api: Api, application: dict[str, Any], filename: str, data: bytes
) -> None:
    body = assert_problem(upload(api, "owner", application, filename, data), 422, "material_type_refused")
    assert body["context"]["field"] == "file"
    assert stored(api) == []
    assert material_events(api, application) == []


def test_empty_file_and_blank_name_are_invalid(api: Api, application: dict[str, Any]) -> None:
    assert_problem(upload(api, "owner", application, "empty.pdf", b""), 422, "invalid_data")
    assert_problem(upload(api, "owner", application, "a.pdf", PDF, name="   "), 422, "invalid_data")
    assert_problem(upload(api, "owner", application, "a.pdf", PDF, name="名" * 65), 422, "invalid_request")
    assert stored(api) == []


def test_only_the_applicant_organisation_uploads_and_others_cannot_see(api: Api, application: dict[str, Any]) -> None:
    assert upload(api, "owner", application, "a.pdf", PDF).status_code == 201
    material_id = stored(api)[0].id
    assert_problem(upload(api, "owner2", application, "b.pdf", PDF), 403, "permission_denied")
    assert_problem(upload(api, "dongcheng.zhujian", application, "c.pdf", PDF), 403, "permission_denied")
    base = f"/api/v1/applications/{application['id']}/materials"
    assert_problem(api.get("owner2", base), 403, "permission_denied")
    assert_problem(api.get("owner2", f"{base}/{material_id}"), 403, "permission_denied")
    assert len(stored(api)) == 1


def test_a_material_is_only_reachable_through_its_own_application(api: Api, application: dict[str, Any]) -> None:
    assert upload(api, "owner", application, "a.pdf", PDF).status_code == 201
    material_id = stored(api)[0].id
    other = api.created("owner", "implementation_plan", implementation_plan_data())
    assert_problem(api.get("owner", f"/api/v1/applications/{other['id']}/materials/{material_id}"), 404, "not_found")
    assert_problem(upload(api, "owner", {"id": 999_999}, "a.pdf", PDF), 404, "not_found")


def test_no_upload_once_the_application_is_final(api: Api, application: dict[str, Any]) -> None:
    withdrawn = api.step("owner", application, "withdraw", comment="项目调整，撤回申请")
    assert withdrawn["state"] == "withdrawn"
    assert_problem(upload(api, "owner", withdrawn, "late.pdf", PDF), 409, "transition_not_allowed")
    assert stored(api) == []


def test_no_upload_while_the_office_reviews_and_again_in_supplement(
    api: Api, application: dict[str, Any], clock: FixedClock
) -> None:
    plan = api.step("owner", application, "publish_notice")
    wait_out_notice(clock, "implementation_plan")
    plan = api.step("owner", plan, "submit")
    plan = api.step("dongcheng.zhujian", plan, "accept")
    refused = assert_problem(upload(api, "owner", plan, "换稿.pdf", PDF), 409, "transition_not_allowed")
    assert "审查中" in refused["detail"]
    assert stored(api) == []
    plan = api.step("dongcheng.zhujian", plan, "request_supplement", comment="缺表决材料",
                    data={"items": ["业主表决材料"]})  # fmt: skip
    assert upload(api, "owner", plan, "表决材料.pdf", PDF, name="consent_records").status_code == 201


UNIT_PLAN_NEEDS_TEXT = (
    (Path(__file__).parents[2] / "workflows" / "unit_plan.yaml")
    .read_text(encoding="utf-8")
    .replace("requires: {fields: [positioning,", "requires: {materials: [plan_document], fields: [positioning,", 1)
)


def test_a_declared_material_becomes_the_reference_a_transition_requires(api: Api) -> None:
    published = api.client.put(
        "/api/v1/workflows/unit_plan", content=UNIT_PLAN_NEEDS_TEXT.encode(), headers=api.headers("admin")
    )
    assert published.status_code == 201, published.text
    plan = api.created("dongcheng.zhujian", "unit_plan", unit_plan_data())
    refused = assert_problem(api.fire("dongcheng.zhujian", plan, "publish_notice"), 422, "invalid_data")
    assert "单元规划成果文本（盖章版）" in refused["detail"]

    first = upload(api, "dongcheng.zhujian", plan, "成果文本.pdf", PDF, name="plan_document").json()
    second = upload(api, "dongcheng.zhujian", plan, "成果文本-修改.pdf", PDF + b"%v2", name="plan_document").json()
    free = upload(api, "dongcheng.zhujian", plan, "现场照片.png", PNG, name="现场照片").json()
    assert [(m["name"], m["version"]) for m in (first, second, free)] == [
        ("plan_document", 1), ("plan_document", 2), ("现场照片", 1)
    ]  # fmt: skip
    view = api.get("dongcheng.zhujian", f"/api/v1/applications/{plan['id']}").json()
    assert view["data"]["materials"] == {"plan_document": f"material:{second['id']}"}
    assert view["version"] == plan["version"] + 2  # the two declared uploads changed the data; the free one did not
    assert [e["data"]["version"] for e in material_events(api, plan)] == [1, 2, 1]

    stale = api.fire("dongcheng.zhujian", plan, "publish_notice")  # the page still shows the old version
    assert_problem(stale, 409, "version_conflict")
    published_notice = api.step("dongcheng.zhujian", view, "publish_notice")
    assert published_notice["state"] == "public_notice"
    assert api.get("admin", "/api/v1/audit/verify").json()["ok"] is True


def test_a_material_reference_must_name_a_file_of_this_application(api: Api, clock: FixedClock) -> None:
    other = api.created("owner", "implementation_plan", implementation_plan_data())
    theirs = upload(api, "owner", other, "别的申请.pdf", PDF, name="plan_document").json()
    stolen = {"materials": {"plan_document": f"material:{theirs['id']}"}}
    created = api.create("owner", "implementation_plan", implementation_plan_data(**stolen))
    assert assert_problem(created, 422, "invalid_data")["context"]["field"] == "materials.plan_document"

    plan = api.step("owner", api.created("owner", "implementation_plan", implementation_plan_data()), "publish_notice")
    wait_out_notice(clock, "implementation_plan")
    for reference in (
        f"material:{theirs['id']}",
        "material:99999999999999999999",
        "material:" + "9" * 5000,
        "material:x",
    ):
        refused = api.fire("owner", plan, "submit", data={"materials": {"plan_document": reference}})
        assert_problem(refused, 422, "invalid_data")
    own = upload(api, "owner", plan, "本申请.pdf", PDF, name="consent_records").json()
    plan = api.get("owner", f"/api/v1/applications/{plan['id']}").json()
    references = {"plan_document": "东政材〔2026〕8号", "consent_records": f"material:{own['id']}"}
    submitted = api.step("owner", plan, "submit", data={"materials": references})
    assert submitted["data"]["materials"] == references  # a document number as given, a file of its own
