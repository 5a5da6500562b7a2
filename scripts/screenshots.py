"""Screenshots of the staff console for the docs: board, task page, conversation page.

Builds a throw-away shop (tasks in every status, pictures, a conversation, a hand-off to a
designer), serves the console on a free loopback port and photographs it with Debian's Chromium
driven by Playwright. Writes ``docs/screenshots/{board,task,conversation}.png``.

    uv run python scripts/screenshots.py [--out docs/screenshots] [--chromium /usr/bin/chromium]
"""

from __future__ import annotations

import argparse
import io
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from ai_cs.api import create_app
from ai_cs.api.server import ThreadedServer
from ai_cs.auth.service import create_key
from ai_cs.config import Settings
from ai_cs.core.tasks import TaskStatus
from ai_cs.tasks import staff
from ai_cs.tasks.service import transition
from ai_cs.workflow import Workflow

ROOT = Path(__file__).resolve().parents[1]


def cjk_font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """A font with Chinese glyphs if the system has one (``fc-list :lang=zh``)."""
    if shutil.which("fc-list"):
        listed = subprocess.run(
            ["fc-list", ":lang=zh", "file"], capture_output=True, text=True, check=False
        ).stdout
        for line in listed.splitlines():
            path = line.split(":")[0].strip()
            if path:
                return ImageFont.truetype(path, size)
    return ImageFont.load_default()


def poster(data_dir: Path, name: str, lines: list[str], colour: str) -> str:
    """A shop poster with text on it, stored under the data directory."""
    image = Image.new("RGB", (640, 480), colour)
    draw = ImageDraw.Draw(image)
    draw.rectangle((40, 40, 600, 440), outline="white", width=6)
    font = cjk_font(44)
    for i, line in enumerate(lines):
        draw.text((80, 110 + i * 90), line, fill="white", font=font)
    return _store(data_dir, f"images/sc/{name}", image)


def cut_out(data_dir: Path, name: str) -> str:
    """A "background removed" result: the subject on transparency."""
    image = Image.new("RGBA", (640, 480), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((170, 90, 470, 390), fill=(230, 120, 40, 255), outline=(40, 40, 40, 255), width=6)
    draw.text((250, 215), "新店开业", fill="white", font=cjk_font(36))
    return _store(data_dir, f"results/sc/{name}", image)


def _store(data_dir: Path, relative: str, image: Image.Image) -> str:
    out = io.BytesIO()
    image.save(out, "PNG")
    path = data_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(out.getvalue())
    return relative


def _walk(workflow: Workflow, task_id: str, *steps: TaskStatus, **last: Any) -> None:
    for i, step in enumerate(steps):
        fields = last if i == len(steps) - 1 else {}
        workflow.db.run_write(
            lambda s, step=step, fields=fields: transition(
                s, workflow.clock, task_id, step, **fields
            )
        )


def build_shop(workflow: Workflow, data_dir: Path) -> dict[str, str]:
    """Tasks in every status, one rich task, a conversation; returns ids to photograph."""
    s = TaskStatus
    customers = [
        ("buyer_1001", "小明", "enhance"),
        ("buyer_1002", "王女士", "remove_bg"),
        ("buyer_1003", "李记小吃", "vectorize"),
        ("buyer_1004", "张先生", "remove_bg_and_layer"),
        ("buyer_1005", "陈同学", "enhance"),
        ("buyer_1006", "赵老板", "vectorize"),
        ("buyer_1007", "刘阿姨", "remove_bg"),
        ("buyer_1008", "周师傅", "enhance"),
    ]
    ids = []
    for i, (customer, name, operation) in enumerate(customers):
        task = workflow.create_image_task(
            customer,
            f"https://img.example.com/upload/{i}.jpg",
            operation,
            customer_name=name,
            acc_id="xianyu_shop_01",
            acc_type="xianyu",
            price_fen=[1500, 2000, 3500, 4500, 1500, 6500, 2000, 1500][i],
        )
        ids.append(task["task_id"])
    _walk(workflow, ids[1], s.PAID, s.PROCESSING)
    _walk(workflow, ids[2], s.PAID, s.PROCESSING, s.FAILED, error_message="矢量化质量检查未通过")
    _walk(workflow, ids[3], s.PAID, s.PROCESSING, s.AWAITING_CONFIRM)
    _walk(workflow, ids[4], s.PAID, s.PROCESSING, s.AWAITING_CONFIRM, s.COMPLETED)
    _walk(workflow, ids[5], s.CANCELLED)
    _walk(workflow, ids[6], s.PAID)
    _walk(workflow, ids[7], s.PAID, s.REFUNDED)
    workflow.db.run_write(
        lambda session: staff.hand_over(
            session, workflow.clock, ids[2], "自动处理失败，转人工精修", actor="system:worker"
        )
    )

    original = poster(
        data_dir, "opening.png", ["新店开业 全场八折", "Grand Opening", "欢迎光临"], "#c0392b"
    )
    rich = workflow.image_analysis_result(
        "buyer_2001",
        original,
        "complex",
        "4:3",
        "no",
        operation="enhance",
        customer_name="美味小吃店",
        acc_id="xianyu_shop_01",
        acc_type="xianyu",
        price_fen=6500,
        quote={
            "operation": "remove_bg",
            "total_fen": 6500,
            "items": [
                {"code": "base", "label": "去除背景（复杂）", "amount_fen": 1500},
                {"code": "text", "label": "文字加价", "amount_fen": 5000},
            ],
            "surcharge": {"applied": True, "reason": "图片含大量文字（3 行，约 20 字）"},
        },
        risk={
            "decision": "review",
            "reasons": [
                {
                    "code": "text_heavy",
                    "message": "图片中文字较多，需确认字体授权",
                    "decision": "review",
                }
            ],
        },
        resolution="640x480",
        text_lines=["新店开业 全场八折", "Grand Opening", "欢迎光临"],
        conversation_id="conv_xianyu_2001",
    )
    tid = rich["task_id"]
    workflow.add_customer_requirement_sync(tid, "buyer_2001", "需要去掉背景")
    workflow.modify_operation_sync(tid, "buyer_2001", "remove_bg")
    workflow.add_staff_requirement(tid, "客户电话确认：保留文字，边缘要干净")
    workflow.trigger_processing_on_payment("buyer_2001", task_id=tid, payment_id="PAY-2001")
    _walk(workflow, tid, s.AWAITING_CONFIRM, result_image=cut_out(data_dir, "opening.png"))

    conversation_id = "conv_xianyu_2001"
    try:
        from ai_cs.conversations import service as conversations
    except ModuleNotFoundError:
        return {"task": tid, "conversation": ""}
    with workflow.db.write() as session:
        conversations.open_conversation(
            session,
            workflow.clock,
            conversation_id=conversation_id,
            platform="xianyu",
            account_id="xianyu_shop_01",
            customer_id="buyer_2001",
            customer_nick="美味小吃店",
        )
        conversations.set_current_task(session, conversation_id, tid)
        for direction, role, text, author in (
            ("in", "customer", "你好，这张海报能把背景去掉吗？", None),
            (
                "out",
                "ai",
                "可以的～图片里文字比较多，去背景价格是 65 元，需要的话直接拍下就好。",
                None,
            ),
            ("in", "customer", "对了，需要去掉背景，文字要保留", None),
            ("out", "ai", "好的，已记下：去掉背景、保留文字。", None),
            ("in", "customer", "已经付款了，大概多久好？", None),
            ("out", "staff", "您好，我是店里的客服小王，十分钟内发您确认。", "客服小王"),
        ):
            conversations.record_message(
                session,
                workflow.clock,
                conversation_id,
                direction=conversations.Direction(direction),
                role=conversations.Role(role),
                text=text,
                author=author,
            )
        conversations.take_over(session, workflow.clock, conversation_id, minutes=30, by="客服小王")
    return {"task": tid, "conversation": conversation_id}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = parser.parse_args()
    if not Path(args.chromium).exists():
        print(
            f"Chromium not found at {args.chromium}: apt-get install -y chromium", file=sys.stderr
        )
        return 2
    from playwright.sync_api import sync_playwright

    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        settings = Settings(data_dir=data_dir, _env_file=None)  # type: ignore[call-arg]
        workflow = Workflow(settings=settings)
        try:
            with workflow.db.write() as session:
                key = create_key(session, workflow.clock, name="客服小王", scope="staff")
            ids = build_shop(workflow, data_dir)
            app = create_app(settings, workflow=workflow)
            with ThreadedServer(app) as server, sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=args.chromium, headless=True)
                context = browser.new_context(
                    locale="zh-CN", viewport={"width": 1680, "height": 1000}, device_scale_factor=1
                )
                page = context.new_page()
                page.goto(f"{server.url}/console/login")
                page.fill("#key", key)
                page.click("button[type=submit].primary")
                page.wait_for_selector("#board")
                page.screenshot(path=str(args.out / "board.png"), full_page=True)
                page.goto(f"{server.url}/console/tasks/{ids['task']}")
                page.wait_for_function(
                    "Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)"
                )
                page.screenshot(path=str(args.out / "task.png"), full_page=True)
                if ids["conversation"]:
                    page.goto(f"{server.url}/console/conversations/{ids['conversation']}")
                    page.wait_for_selector("#messages")
                    page.screenshot(path=str(args.out / "conversation.png"), full_page=True)
                context.close()
                browser.close()
        finally:
            workflow.close()
    for name in ("board", "task", "conversation"):
        path = args.out / f"{name}.png"
        if path.exists():
            print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
