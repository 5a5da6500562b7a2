"""With ``AICS_PRICES`` set, the price list in chat, the quote and the stored order agree."""

from __future__ import annotations

from pathlib import Path

import pytest
from agent_support import Chat

from ai_cs.agent.handler import AgentHandler
from ai_cs.config import Settings
from ai_cs.core.pricing import PriceTable
from ai_cs.core.tasks import Operation
from ai_cs.imaging.ocr import StaticOcr
from ai_cs.workflow import Workflow

pytestmark = pytest.mark.anyio

SHOP_PRICES = (
    '{"base_fen": {"remove_bg": {"simple": 1800, "normal": 2900, "complex": 4700},'
    ' "enhance": {"simple": 1300, "normal": 2100, "complex": 3300}}}'
)


async def test_price_list_and_quote_use_the_configured_table(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, picture: Path
) -> None:
    monkeypatch.setenv("AICS_PRICES", SHOP_PRICES)
    settings = Settings(data_dir=tmp_path / "data", _env_file=None)
    assert settings.prices != PriceTable()
    wf = Workflow(database_url=database_url, settings=settings)
    try:
        chat = Chat(AgentHandler(wf, ocr=StaticOcr(), allow_local_files=True))
        listed = await chat.say("抠图多少钱？")
        assert "18/29/47 元" in listed and "15/25/40" not in listed
        quoted = await chat.say("帮我抠图", [picture])
        task = wf.get_customer_tasks(chat.customer_id)[0]
        assert task["operation"] == Operation.REMOVE_BG
        level = task["requirements"]["complexity"]
        expected = settings.prices.base_fen[Operation.REMOVE_BG][level]
        assert task["price_fen"] == task["quote"]["total_fen"] == expected
        assert f"{expected // 100} 元" in quoted
    finally:
        wf.close()
