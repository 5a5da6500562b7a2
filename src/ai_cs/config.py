"""Settings (pydantic-settings): `AICS_` environment variables, also read from `.env`.

Nothing is built at import time: call :func:`get_settings` (cached) or construct
:class:`Settings` directly in tests. Each field's description is the docstring under it
(pydantic's ``use_attribute_docstrings``).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from ai_cs.core.delivery import DeliveryTimes
from ai_cs.core.pricing import PriceTable

Secret = Annotated[str, Field(repr=False)]
"""A setting that holds a credential (key, password, cookie, or a webhook URL carrying its token):
left out of the settings' repr, so logging settings or an object holding them shows none."""


class Settings(BaseSettings):
    """Everything configurable about one ai-cs installation."""

    model_config = SettingsConfigDict(
        env_prefix="AICS_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        use_attribute_docstrings=True,
    )

    # --- storage -----------------------------------------------------------------------------
    data_dir: Path = Path("./data")
    """Where the SQLite file and pictures live; a relative path is taken from the working directory
    at start and made absolute once, here.
    """
    database_url: Secret = ""
    """SQLAlchemy URL; empty means SQLite at DATA_DIR/ai_cs.db.
    PostgreSQL: postgresql+psycopg://user@host/db
    """
    sqlite_busy_timeout_ms: int = 30_000
    """How long a writer waits for the lock."""
    timezone: str = "Asia/Shanghai"
    """The shop's time zone for ids and stamps."""

    # --- network -----------------------------------------------------------------------------
    host: str = "127.0.0.1"
    """Address the HTTP servers bind to."""
    api_port: int = 6060
    """Tianwang HTTP API and staff console."""
    dispatch_port: int = 8005
    """Tuhui dispatch service for human designers."""
    gateway_url: str = ""
    """Marketplace gateway websocket URL; empty = off."""
    dispatch_url: str = ""
    """Dispatch service base URL; empty = the built-in one on DISPATCH_PORT."""
    fetch_allowed_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """Hosts exempt from the public-address rule for customer image URLs: 'host' (ports 80/443
    only), 'host:port' (that port), 'host:*' (any port); every redirect hop is checked again.
    """

    public_base_url: str = ""
    """Base URL customers and staff reach the API at (result links, links in notifications); empty =
    http://host:api_port.
    """
    max_upload_bytes: int = 20 * 1024 * 1024
    """Largest accepted upload/picture."""
    rate_limit_per_minute: int = 600
    """API requests per key per minute."""
    decode_slots: int = Field(2, ge=1)
    """Pictures decoded at full size at once per process (each may take up to 200 MB while it is
    decoded and stored); more wait their turn.
    """
    analysis_threads: int = Field(0, ge=0)
    """onnxruntime threads of the picture analysis (OCR); 0 = one per core. Set 1 when one worker
    process runs per core, so analyses do not oversubscribe the cores.
    """

    # --- dispatch (Tuhui) ----------------------------------------------------------------------
    dispatch_api_key: Secret = ""
    """Bearer key ai-cs uses to post jobs to the dispatch service."""
    dispatch_callback_secret: Secret = ""
    """HMAC secret of dispatch → API callbacks; empty = derived per data dir."""

    # --- worker --------------------------------------------------------------------------------
    queue_backend: str = "embedded"
    """'embedded' or 'procrastinate' (PostgreSQL)."""
    worker_concurrency: int = 1
    """Jobs run at once by the in-process worker."""
    job_lease_seconds: float = 60.0
    """Lease on a claimed job; renewed by heartbeats."""
    job_max_attempts: int = 3
    """Tries of a processing job before a human takes it."""
    segmentation_model_path: str = ""
    """Optional segmentation ONNX model for remove_bg."""
    picture_jobs: bool = False
    """Analyse customer pictures as jobs on the worker queue (every worker process takes pictures)
    instead of inside the conversation's process.
    """
    picture_job_wait_seconds: float = Field(60.0, gt=0)
    """How long a turn waits for a worker to analyse its picture before it analyses the picture
    itself (with AICS_PICTURE_JOBS).
    """
    picture_ack_after_seconds: float = Field(1.0, ge=0)
    """With AICS_PICTURE_JOBS: when a picture's analysis is not back within this time the customer
    is told at once that the picture is being looked at.
    """

    log_format: str = "auto"
    """'json' (one object per line), 'text', or 'auto' = json unless a tty."""
    log_level: str = "INFO"
    """Root log level of long-running commands."""
    metrics: Literal["off", "local", "key"] = "local"
    """GET /metrics: 'off' (404), 'local' (loopback clients only, never through a proxy that adds
    X-Forwarded-For/Forwarded), 'key' (a key of scope metrics or staff).
    """

    # --- prices ------------------------------------------------------------------------------
    prices: PriceTable = Field(default_factory=PriceTable)
    """Price table in fen as JSON (AICS_PRICES), e.g. {"rush_fen": 1500, "base_fen": {"enhance":
    {"simple": 1200, ...}, ...}}; missing fields keep the shop's list prices.
    """

    delivery_times: DeliveryTimes = Field(default_factory=DeliveryTimes)
    """Typical job times as JSON (AICS_DELIVERY_TIMES), e.g. {"minutes": {"vectorize": {"simple":
    10, ...}}, "designer_hours": 12}; the chat quotes them with the queue's length.
    """

    # --- agent and gateway ---------------------------------------------------------------------
    llm_model: str = ""
    """Empty = the built-in offline agent; a preset (alibaba:qwen-plus, alibaba:qwen-max on
    DashScope's mainland endpoint, deepseek:deepseek-chat) or any model name of an OpenAI-compatible
    LLM_BASE_URL.
    """
    llm_base_url: str = ""
    """OpenAI-compatible endpoint for LLM_MODEL (Ollama, vLLM …); overrides a preset's endpoint."""
    llm_api_key: Secret = ""
    """API key of the LLM endpoint (DashScope, DeepSeek or LLM_BASE_URL)."""
    llm_timeout_seconds: float = Field(20.0, gt=0)
    """Per-request time limit of the LLM; then the offline agent answers."""
    llm_vision: bool = False
    """Send the customer's picture (downscaled) to the LLM with the turn."""
    takeover_minutes: float = 30.0
    """How long a seller's own message pauses the AI in that conversation."""
    gateway_burst_window_ms: int = 800
    """Messages from one customer within this window make one agent turn."""

    # --- marketplace bridges (CONTRACT §10) ------------------------------------------------------
    xianyu_ws_url: str = "wss://wss-goofish.dingtalk.com/"
    """闲鱼 IM websocket (tests: the fake)."""
    xianyu_mtop_url: str = "https://h5api.m.goofish.com/h5/"
    """Base of the h5/<api>/<version>/ calls."""
    xianyu_passport_url: str = "https://passport.goofish.com/"
    """Login renewal (newlogin/hasLogin.do)."""
    xianyu_upload_url: str = (
        "https://stream-upload.goofish.com/api/upload.api?floderId=0&appkey=xy_chat"
        "&_input_charset=utf-8"
    )
    """Picture upload for image messages."""
    xianyu_cookie: Secret = ""
    """A goofish.com cookie string: adds or updates that account at start."""
    account_key: Secret = ""
    """Fernet key encrypting marketplace cookies at rest; empty = generated once into
    DATA_DIR/account.key (mode 0600).
    """
    xianyu_heartbeat_seconds: float = Field(15.0, gt=0)
    """IM heartbeat interval; two unanswered in a row end the socket."""
    xianyu_token_refresh_seconds: float = Field(3600.0, gt=0)
    """How often the IM token is renewed (then one reconnect)."""
    xianyu_reconnect_base_seconds: float = Field(2.0, gt=0)
    """First reconnect delay; doubles per failure, with jitter."""
    xianyu_reconnect_cap_seconds: float = Field(300.0, gt=0)
    """Longest delay between two reconnect attempts."""
    xianyu_reg_refusal_limit: int = Field(3, ge=1)
    """Refused IM registrations (/reg) in a row before the account is marked needs_verification
    instead of logging in again and again.
    """
    xianyu_offline_notify_minutes: float = Field(10.0, gt=0)
    """An account reconnecting for longer than this is announced as offline (§11)."""
    xianyu_consign_dummy: bool = False
    """Offer 确认发货 (consign.dummy, shipped without logistics) in the console for 闲鱼 orders
    the buyer confirmed; each one needs a staff member's click.
    """

    # --- notifications to the shop (CONTRACT §11) --------------------------------------------
    notify_dingtalk_url: Secret = ""
    """DingTalk group robot webhook (…/robot/send?access_token=…); empty = off."""
    notify_dingtalk_secret: Secret = ""
    """The DingTalk robot's 加签 secret (SEC…); empty = the robot is unsigned."""
    notify_feishu_url: Secret = ""
    """Feishu (Lark) custom bot webhook (…/bot/v2/hook/…); empty = off."""
    notify_feishu_secret: Secret = ""
    """The Feishu bot's signature secret (签名校验); empty = unsigned."""
    notify_wecom_url: Secret = ""
    """WeCom (企业微信) group robot webhook (…/webhook/send?key=…); empty = off."""
    notify_webhook_url: Secret = ""
    """Any HTTPS endpoint that takes the shop's notices as JSON; empty = off."""
    notify_webhook_secret: Secret = ""
    """HMAC secret signing the generic webhook (as dispatch callbacks are)."""
    notify_paid_orders: bool = False
    """Also announce every paid order (off: only what needs a person)."""

    @field_validator("data_dir", mode="after")
    @classmethod
    def _absolute_data_dir(cls, value: Path) -> Path:
        # Resolved once, when settings load: every later join (intake, worker, file routes,
        # dispatch, delivery) sees the same absolute folder whatever the working directory is.
        return Path(os.path.abspath(value.expanduser()))

    @field_validator("fetch_allowed_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: object) -> object:
        if isinstance(value, str):
            return [h.strip().lower() for h in value.split(",") if h.strip()]
        return value

    @property
    def tz(self) -> ZoneInfo:
        """The shop's time zone."""
        return ZoneInfo(self.timezone)

    @property
    def api_base_url(self) -> str:
        """Where people reach the API and console: ``PUBLIC_BASE_URL`` or ``http://host:port``."""
        if self.public_base_url:
            return self.public_base_url.rstrip("/")
        return f"http://{self.host}:{self.api_port}"

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to SQLite in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'ai_cs.db'}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
