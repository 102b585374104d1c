"""Admin: webhook subscriptions, the delivery log with redelivery, and the inbound sources.

A signing secret is shown once, on the page that answers the form which made it (never in a URL),
as the API returns it once. Every check is the service's; the page only turns a form into its model.
"""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ValidationError

from api.problems import status_of
from api.services import users, webhooks, workflows
from api.services.context import Context
from api.services.webhooks import DeliveryFilter, SourceCreate, SubscriptionCreate, SubscriptionUpdate
from engine.errors import InvalidData
from engine.runner import Actor
from web.rendering import ContextDep, PageActor, PageRoute, PageRowId, VerifiedForm, redirect, render

router = APIRouter(prefix="/admin/webhooks", route_class=PageRoute, include_in_schema=False)

EVENT_TITLES = {
    "*": "全部事件",
    "application.created": "创建申请",
    "application.transitioned": "办理环节变更",
    "application.overdue": "超期",
    "application.reminder": "即将到期提醒",
    "application.supplement_reminder": "补正逾期未交提醒",
    "application.deadline_recalculated": "期限重新计算",
    "application.material_uploaded": "上传材料",
    "credit_record.written": "记入信用记录",
}  # fmt: skip
STATUS_TITLES = {"pending": "待投递", "delivered": "已送达", "dead": "投递失败（已停止重试）"}
FIELD_MESSAGES = {
    "url": "请填写接收地址：以 http:// 或 https:// 开头的完整网址（最长 2048 个字符）。",
    "events": "请至少选择一种事件。",
    "workflow": "请选择审批事项，或选“全部审批事项”。",
    "name": "来源名称须为小写字母、数字、下划线或连字符，以字母或数字开头，最长 64 个字符。",
    "account": "请选择该系统代为办理时使用的账号。",
}
NOTICES = {
    "enabled": "订阅已启用，新的事件将投递到该地址。",
    "disabled": "订阅已停用：不再为它生成新的投递，已排队的投递保留。",
    "redelivered": "已重新排队投递（沿用原 webhook-id），投递结果见下方记录。",
}
DELIVERIES_SHOWN = 50
Model = TypeVar("Model", bound=BaseModel)


@router.get("", response_class=HTMLResponse)
def webhooks_page(request: Request, context: ContextDep, actor: PageActor, notice: str = "") -> HTMLResponse:
    values = _page_values(context, actor)
    values["notice"] = NOTICES.get(notice)
    return _page(request, actor, values)


@router.post("/subscriptions", response_class=HTMLResponse)
def create_subscription(request: Request, context: ContextDep, actor: PageActor, form: VerifiedForm) -> Response:
    entered = {"url": str(form.get("url") or "").strip(), "workflow": str(form.get("workflow") or "")}
    events = [str(event) for event in form.getlist("events")]
    values = _page_values(context, actor)
    try:
        body = _parsed(SubscriptionCreate, {**entered, "events": events, "workflow": entered["workflow"] or None})
        values["created_subscription"] = webhooks.create_subscription(context, actor, body)
    except InvalidData as refused:  # the form comes back as typed, the reason beside its field
        values["entered"], values["entered_events"] = entered, events
        values["errors"] = {str(refused.context.get("field") or "form"): refused.detail}
        return _page(request, actor, values, status_of(refused))
    values["subscriptions"] = webhooks.list_subscriptions(context, actor)
    return _page(request, actor, values)


@router.post("/subscriptions/{subscription_id}/enable")
def enable(
    request: Request, subscription_id: PageRowId, context: ContextDep, actor: PageActor, form: VerifiedForm
) -> Response:
    webhooks.update_subscription(context, actor, subscription_id, SubscriptionUpdate(enabled=True))
    return redirect(request, "/admin/webhooks?notice=enabled")


@router.post("/subscriptions/{subscription_id}/disable")
def disable(
    request: Request, subscription_id: PageRowId, context: ContextDep, actor: PageActor, form: VerifiedForm
) -> Response:
    webhooks.update_subscription(context, actor, subscription_id, SubscriptionUpdate(enabled=False))
    return redirect(request, "/admin/webhooks?notice=disabled")


@router.post("/subscriptions/{subscription_id}/rotate", response_class=HTMLResponse)
def rotate_secret(
    request: Request, subscription_id: PageRowId, context: ContextDep, actor: PageActor, form: VerifiedForm
) -> HTMLResponse:
    rotated = webhooks.rotate_secret(context, actor, subscription_id)
    values = _page_values(context, actor)
    values["rotated_subscription"] = rotated
    values["grace_hours"] = context.settings.webhook_secret_grace_hours
    return _page(request, actor, values)


@router.post("/deliveries/{delivery_id}/redeliver")
def redeliver(
    request: Request, delivery_id: PageRowId, context: ContextDep, actor: PageActor, form: VerifiedForm
) -> Response:
    webhooks.redeliver(context, actor, delivery_id)
    return redirect(request, "/admin/webhooks?notice=redelivered#deliveries")


@router.post("/sources", response_class=HTMLResponse)
def create_source(request: Request, context: ContextDep, actor: PageActor, form: VerifiedForm) -> Response:
    entered = {"name": str(form.get("name") or "").strip(), "account": str(form.get("account") or "")}
    values = _page_values(context, actor)
    try:
        values["created_source"] = webhooks.create_source(context, actor, _parsed(SourceCreate, entered))
    except InvalidData as refused:
        values["entered_source"] = entered
        values["source_errors"] = {str(refused.context.get("field") or "form"): refused.detail}
        return _page(request, actor, values, status_of(refused))
    values["sources"] = webhooks.list_sources(context, actor)
    return _page(request, actor, values)


def _page(request: Request, actor: Actor, values: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    """The page, never kept by the browser's cache: it may hold a secret shown once."""
    response = render(request, "webhooks.html", values, status_code=status_code, actor=actor)
    response.headers["Cache-Control"] = "no-store"
    return response


def _parsed(model: type[Model], entered: dict[str, Any]) -> Model:
    """The form as the service's model; a field it refuses becomes InvalidData with a Chinese message."""
    try:
        return model.model_validate(entered)
    except ValidationError as error:
        field = str(error.errors()[0]["loc"][0]) if error.errors()[0]["loc"] else "form"
        raise InvalidData(FIELD_MESSAGES.get(field, "填写有误，请检查后重试。"), field=field) from None


def _page_values(context: Context, actor: Actor) -> dict[str, Any]:
    subscriptions = webhooks.list_subscriptions(context, actor)  # raises PermissionDenied for non-admins first
    return {
        "subscriptions": subscriptions, "urls": {s.id: s.url for s in subscriptions},
        "deliveries": webhooks.list_deliveries(context, actor, DeliveryFilter(limit=DELIVERIES_SHOWN)),
        "sources": webhooks.list_sources(context, actor), "accounts": users.list_users(context, actor),
        "workflows": workflows.list_workflows(context), "event_titles": EVENT_TITLES, "status_titles": STATUS_TITLES,
        "entered": {}, "entered_events": [], "errors": {}, "entered_source": {}, "source_errors": {},
        "notice": None, "created_subscription": None, "rotated_subscription": None, "created_source": None,
    }  # fmt: skip
