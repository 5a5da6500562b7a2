"""The find-image workflow (查找图片) through the agent, with a real library on the database."""

from __future__ import annotations

from pathlib import Path

import pytest
from agent_support import Chat, conversation, jpeg_copy, landscape_picture, product_picture, save
from PIL import Image, ImageDraw

from ai_cs.imaging.ocr import StaticOcr
from ai_cs.library.service import add_directory
from ai_cs.workflow import Workflow

pytestmark = pytest.mark.anyio


@pytest.fixture
def library(fixed_workflow: Workflow, tmp_path: Path) -> Path:
    root = tmp_path / "library"
    save(product_picture(size=(1200, 1200)), root / "产品图" / "蓝色水瓶_主图.png")
    save(landscape_picture(size=(1600, 1200)), root / "风景" / "山景_日出.jpg", "JPEG", quality=92)
    report = add_directory(fixed_workflow.db, fixed_workflow.clock, root, ocr=StaticOcr())
    assert report.added == 2 and not report.failed
    return root


def checkerboard() -> Image.Image:
    img = Image.new("RGB", (500, 500), (255, 140, 0))
    draw = ImageDraw.Draw(img)
    for i in range(0, 500, 50):
        for j in range(0, 500, 50):
            if (i + j) // 50 % 2:
                draw.rectangle((i, j, i + 49, j + 49), fill=(20, 160, 90))
    return img


async def test_finds_the_original_from_a_resized_recompressed_copy(
    chat: Chat, fixed_workflow: Workflow, library: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "from_customer.jpg"
    copy.write_bytes(jpeg_copy(product_picture(size=(1200, 1200)), scale=0.4, quality=55))

    reply = await chat.say("帮我找这张图的高清原图", [copy])
    assert "蓝色水瓶_主图.png" in reply and "1200×1200" in reply
    assert "山景" not in reply
    assert fixed_workflow.get_customer_tasks("customer_123") == []  # find-image opens no order
    assert conversation(fixed_workflow, "conv_123").needs_human == 0


async def test_asks_first_then_searches_with_the_next_picture(
    chat: Chat, fixed_workflow: Workflow, library: Path, tmp_path: Path
) -> None:
    reply = await chat.say("能帮我找原图吗")
    assert "发给我" in reply
    copy = tmp_path / "scenery.jpg"
    copy.write_bytes(jpeg_copy(landscape_picture(size=(1600, 1200)), scale=0.3, quality=60))
    reply = await chat.say("", [copy])
    assert "山景_日出.jpg" in reply and "1600×1200" in reply
    assert fixed_workflow.get_customer_tasks("customer_123") == []


async def test_finds_by_words(chat: Chat, library: Path) -> None:
    reply = await chat.say("帮我找一张山景日出的高清原图")
    assert "山景_日出.jpg" in reply and "水瓶" not in reply


async def test_nothing_found_goes_to_a_human(
    chat: Chat, fixed_workflow: Workflow, library: Path, tmp_path: Path
) -> None:
    other = save(checkerboard(), tmp_path / "other.png")
    reply = await chat.say("找原图", [other])
    assert "没找到" in reply
    conv = conversation(fixed_workflow, "conv_123")
    assert conv.needs_human == 1
    assert "图库中没有找到" in (conv.needs_human_reason or "")
