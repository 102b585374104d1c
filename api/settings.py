"""Settings from the environment (prefix GREENLANE_), read in create_app(), never at import."""

from __future__ import annotations

import secrets
from functools import lru_cache

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = {"", "changethis", "change-me", "demo-secret-key-not-for-production"}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GREENLANE_")

    database_url: str = "sqlite:///./greenlane.db"
    secret_key: str = "demo-secret-key-not-for-production"
    demo: bool = False
    token_minutes: int = 480
    max_body_bytes: int = 1_048_576
    max_upload_bytes: int = 10_485_760  # one material file; its upload route allows this much body
    log_json: bool = False
    # webhooks: a prepared app (serve) runs the delivery thread unless GREENLANE_WEBHOOK_WORKER=false;
    # an app built with prepare=False (the tests) never starts it and tests call run_once() themselves
    webhook_worker: bool = True
    webhook_poll_seconds: float = 1.0
    webhook_batch_size: int = 10
    webhook_max_attempts: int = 8
    webhook_backoff_seconds: float = 10.0  # first retry after 5-10 s, doubling, jittered
    webhook_backoff_max_seconds: float = 3600.0
    webhook_lease_seconds: int = 300  # a claimed batch left this long (worker killed) is claimed again
    webhook_connect_timeout: float = 3.0
    webhook_read_timeout: float = 10.0
    webhook_secret_grace_hours: int = 24  # after rotation the old secret still signs and verifies
    webhook_tolerance_seconds: int = 300  # inbound webhook-timestamp may be this far from our clock
    scheduler_interval_seconds: float = 30.0  # 0 turns the in-process timer worker off
    commitment_bar_months: int = 12  # fast-path bar after a revoked commitment (行政许可法 §78)
    commitment_fraud_bar_months: int = 36  # when the approval was obtained by fraud (§79)

    @model_validator(mode="after")
    def _refuse_placeholder_secret(self) -> Settings:
        if self.demo and self.secret_key in PLACEHOLDER_SECRETS:
            # a demo left on a reachable port must not accept tokens forged with a published key;
            # the price is that demo logins do not survive a restart
            self.secret_key = secrets.token_urlsafe(32)
        if not self.demo and self.secret_key in PLACEHOLDER_SECRETS:
            raise ValueError(
                "GREENLANE_SECRET_KEY 未设置或仍为默认值：生产环境必须设置随机密钥（仅 --demo 演示模式可使用默认值）。"
            )
        if len(self.secret_key) < 32 and not self.demo:
            raise ValueError("GREENLANE_SECRET_KEY 至少需要 32 个字符。")
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
