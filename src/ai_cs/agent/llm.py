"""The LLM path: the models Chinese shops use, the picture for vision models, the price check.

``AICS_LLM_MODEL`` names a preset or any model of an OpenAI-compatible endpoint:

* ``alibaba:qwen-plus`` / ``alibaba:qwen-max`` — 通义千问 on DashScope's **mainland**
  OpenAI-compatible endpoint (pydantic-ai's Alibaba provider defaults to the international one);
* ``deepseek:deepseek-chat`` — DeepSeek's own endpoint;
* anything else with ``AICS_LLM_BASE_URL`` (Ollama, vLLM, a gateway), which also overrides a
  preset's endpoint (tests point the presets at a loopback server that way).

The key is ``AICS_LLM_API_KEY``. Each request has ``AICS_LLM_TIMEOUT_SECONDS`` and one retry;
after that the offline policy answers within the same turn. Whatever the model writes, an amount
of money in its reply must be one the shop's tools or price table gave (:func:`unquoted_prices`),
or the offline reply is sent instead.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from ai_cs.config import Settings
from ai_cs.core.money import yuan
from ai_cs.core.pricing import PriceTable

if TYPE_CHECKING:
    from pydantic_ai.models import Model

DASHSCOPE_MAINLAND_URL: Final = "https://dashscope.aliyuncs.com/compatible-mode/v1"
DEEPSEEK_URL: Final = "https://api.deepseek.com"


@dataclass(frozen=True)
class Preset:
    """A provider the shop can name in ``AICS_LLM_MODEL`` as ``prefix:model``."""

    prefix: str
    base_url: str
    provider: str
    """``module:Class`` of the pydantic-ai provider (its model profile: Qwen, DeepSeek)."""


PRESETS: Final[dict[str, Preset]] = {
    "alibaba": Preset(
        "alibaba", DASHSCOPE_MAINLAND_URL, "pydantic_ai.providers.alibaba:AlibabaProvider"
    ),
    "deepseek": Preset("deepseek", DEEPSEEK_URL, "pydantic_ai.providers.deepseek:DeepSeekProvider"),
}
MAX_RETRIES: Final = 1
PICTURE_SIDE: Final = 768
"""Longest side of the picture sent to a vision model (JPEG)."""


def split_name(model_name: str) -> tuple[Preset | None, str]:
    """The preset of ``prefix:model`` (None for a plain or ``openai:`` name) and the model."""
    prefix, sep, name = model_name.partition(":")
    if not sep:
        return None, model_name
    if prefix in PRESETS:
        return PRESETS[prefix], name
    return None, name if prefix == "openai" else model_name


def build_model(model_name: str, base_url: str, api_key: str, timeout: float) -> Model:
    """The pydantic-ai model for the settings.

    Built per turn and closed after it (:func:`close_model`): a client kept across turns would
    hold pooled connections bound to an event loop that may be gone.
    """
    import importlib

    from openai import AsyncOpenAI
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    preset, name = split_name(model_name)
    url = base_url or (preset.base_url if preset else "")
    if not url:
        raise ValueError(
            f"AICS_LLM_MODEL={model_name!r} needs AICS_LLM_BASE_URL (or a preset: "
            + ", ".join(f"{p}:…" for p in PRESETS)
            + ")"
        )
    client = AsyncOpenAI(
        base_url=url, api_key=api_key or "not-needed", timeout=timeout, max_retries=MAX_RETRIES
    )
    provider: Any
    if preset is not None:
        module, _, cls = preset.provider.partition(":")
        provider = getattr(importlib.import_module(module), cls)(openai_client=client)
    else:
        provider = OpenAIProvider(openai_client=client)
    return OpenAIChatModel(name, provider=provider)


def llm_model(settings: Settings) -> Model | None:
    """The configured LLM, or None for the built-in offline policy."""
    name = (settings.llm_model or "").strip()
    if not name:
        return None
    return build_model(
        name, settings.llm_base_url.strip(), settings.llm_api_key, settings.llm_timeout_seconds
    )


async def close_model(model: Model) -> None:
    """Close the HTTP client of a model made by :func:`build_model`."""
    client = getattr(model, "client", None)
    if client is not None:
        await client.close()


# --- prices the model may write ------------------------------------------------------------------
_AMOUNT = re.compile(r"(?<![\d.])(\d+(?:\.\d{1,2})?)\s*(?:元|块|rmb|yuan|¥)", re.IGNORECASE)
_YUAN_SIGN = re.compile(r"[¥￥]\s*(\d+(?:\.\d{1,2})?)")


def amounts(text: str) -> set[str]:
    """Money amounts in ``text`` ("25 元", "25.50元", "¥25"), normalised like :func:`yuan`."""
    found = {m.group(1) for m in _AMOUNT.finditer(text)} | {
        m.group(1) for m in _YUAN_SIGN.finditer(text)
    }
    return {yuan(round(float(value) * 100)) for value in found}


def table_amounts(table: PriceTable) -> set[str]:
    """Every amount the price table can state: list prices, extras, the text band."""
    fen = {value for row in table.base_fen.values() for value in row.values()}
    fen |= {table.perspective_fen, table.large_size_fen, table.rush_fen}
    fen |= {table.text_band_min_fen, table.text_band_max_fen}
    return {yuan(value) for value in fen}


def unquoted_prices(reply: str, allowed: Iterable[str]) -> set[str]:
    """Amounts in the model's reply that no tool result or price table gave (invented prices)."""
    return amounts(reply) - set(allowed)


# --- the picture for a vision model --------------------------------------------------------------
def picture_part(data: bytes) -> Any:
    """``data`` downscaled to :data:`PICTURE_SIDE` as JPEG, as pydantic-ai binary content."""
    from PIL import Image
    from pydantic_ai.messages import BinaryContent

    with Image.open(io.BytesIO(data)) as img:
        img.thumbnail((PICTURE_SIDE, PICTURE_SIDE))
        out = io.BytesIO()
        img.convert("RGB").save(out, format="JPEG", quality=85)
    return BinaryContent(data=out.getvalue(), media_type="image/jpeg")
