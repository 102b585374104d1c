"""Settings from the environment (prefix GREENLANE_), read in create_app(), never at import."""

from __future__ import annotations

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
    log_json: bool = False

    @model_validator(mode="after")
    def _refuse_placeholder_secret(self) -> Settings:
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
