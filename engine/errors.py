"""Every error Greenlane raises on purpose (engine is innermost, so all layers import it).

GreenlaneError
├── SpecInvalid             workflow_invalid            422
├── ConditionInvalid        condition_invalid           422
├── InvalidData             invalid_data                422
├── GuardFailed             guard_failed                422
├── IdempotencyKeyReused    idempotency_key_reused      422
├── TransitionNotAllowed    transition_not_allowed      409
├── VersionConflict         version_conflict            409
├── IdempotencyInProgress   idempotency_in_progress     409
├── AlreadyExists           already_exists              409
├── NotFound                not_found                   404
│   ├── UnknownWorkflow     unknown_workflow            404
│   ├── UnknownWorkflowVersion  unknown_workflow_version  404
│   ├── UnknownTransition   unknown_transition          404
│   └── UnknownHookSource   unknown_hook_source         404
├── PermissionDenied        permission_denied           403
├── Unauthenticated         unauthenticated             401
│   ├── AccountDisabled     account_disabled            401
│   └── WebhookSignatureInvalid  webhook_signature_invalid  401
└── PayloadTooLarge         payload_too_large           413
"""

from __future__ import annotations

from typing import ClassVar


class GreenlaneError(Exception):
    code: ClassVar[str] = "internal"
    message_zh: ClassVar[str] = "系统内部错误，请稍后重试。"

    def __init__(self, detail: str | None = None, **context: object) -> None:
        super().__init__(self.code, detail, context)
        self.detail = detail or self.message_zh
        self.context = context


class SpecInvalid(GreenlaneError):
    code = "workflow_invalid"
    message_zh = "工作流定义有误。"

    def __init__(self, problems: list[SpecProblem], file: str = "<workflow>") -> None:
        lines = [problem.render(file) for problem in problems]
        super().__init__("工作流定义有误：" + "；".join(lines), errors=[p.as_dict() for p in problems])
        self.problems = problems
        self.file = file


class SpecProblem:
    """One problem in a workflow document, located by line and key path."""

    def __init__(self, line: int, path: str, message: str) -> None:
        self.line = line
        self.path = path
        self.message = message

    def render(self, file: str) -> str:
        return f"{file}:{self.line}: {self.path}: {self.message}"

    def as_dict(self) -> dict[str, object]:
        return {"line": self.line, "path": self.path, "message": self.message}

    def __repr__(self) -> str:
        return f"SpecProblem({self.line}, {self.path!r}, {self.message!r})"


class ConditionInvalid(GreenlaneError):
    code = "condition_invalid"
    message_zh = "条件表达式有误。"


class InvalidData(GreenlaneError):
    code = "invalid_data"
    message_zh = "提交的数据有误。"


class MaterialTypeRefused(InvalidData):
    """An uploaded file's extension is not allowed, or its content does not start like that type."""

    code = "material_type_refused"
    message_zh = "不接受该文件类型。"


class GuardFailed(GreenlaneError):
    code = "guard_failed"
    message_zh = "办理条件不满足。"


class IdempotencyKeyReused(GreenlaneError):
    code = "idempotency_key_reused"
    message_zh = "该 Idempotency-Key 已用于另一个不同的请求。"


class TransitionNotAllowed(GreenlaneError):
    code = "transition_not_allowed"
    message_zh = "当前状态下不能办理该事项。"


class VersionConflict(GreenlaneError):
    code = "version_conflict"
    message_zh = "该申请已被他人更新，请刷新后重试。"


class IdempotencyInProgress(GreenlaneError):
    code = "idempotency_in_progress"
    message_zh = "相同 Idempotency-Key 的请求正在处理中，请稍后重试。"


class AlreadyExists(GreenlaneError):
    code = "already_exists"
    message_zh = "该名称已被使用。"


class NotFound(GreenlaneError):
    code = "not_found"
    message_zh = "未找到。"


class UnknownWorkflow(NotFound):
    code = "unknown_workflow"
    message_zh = "未找到该工作流。"


class UnknownWorkflowVersion(NotFound):
    code = "unknown_workflow_version"
    message_zh = "该工作流没有这个版本。"


class UnknownTransition(NotFound):
    code = "unknown_transition"
    message_zh = "该工作流中没有这个办理事项。"


class UnknownHookSource(NotFound):
    code = "unknown_hook_source"
    message_zh = "未注册该外部系统（webhook 来源）。"


class PermissionDenied(GreenlaneError):
    code = "permission_denied"
    message_zh = "无权办理该事项。"


class Unauthenticated(GreenlaneError):
    code = "unauthenticated"
    message_zh = "未登录或登录已过期，请重新登录。"


class AccountDisabled(Unauthenticated):
    code = "account_disabled"
    message_zh = "该账号已停用，请联系系统管理员。"


class WebhookSignatureInvalid(Unauthenticated):
    code = "webhook_signature_invalid"
    message_zh = "Webhook 签名无效或时间戳已过期。"


class PayloadTooLarge(GreenlaneError):
    code = "payload_too_large"
    message_zh = "请求内容过大。"
