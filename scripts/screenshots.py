"""Screenshots of the staff console for the docs: every page a shop owner and staff use.

Builds a throw-away shop (a week of orders in every status with pictures, a conversation with a
picture, a hand-off to a designer, an assist-mode chat for a 淘宝 buyer), serves the console on a
free loopback port and photographs it with Debian's Chromium driven by Playwright. Writes
``docs/screenshots/<page>.png`` for every page in :data:`SHOTS` (the board at 1440 px, the width
the issue found cut off, and at a phone's 390 px).

    uv run python scripts/screenshots.py [--out docs/screenshots] [--chromium /usr/bin/chromium]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import shutil
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import update

from ai_cs import datafiles
from ai_cs.agent.handler import AgentHandler
from ai_cs.api import create_app
from ai_cs.api.console_assist import conversation_id_for
from ai_cs.api.server import ThreadedServer
from ai_cs.auth.service import create_key
from ai_cs.config import Settings
from ai_cs.conversations.contracts import Attachment, InboundMessage
from ai_cs.core.tasks import TaskStatus
from ai_cs.imaging.ocr import StaticOcr
from ai_cs.tasks import orders
from ai_cs.tasks.models import ImageTask
from ai_cs.tasks.service import transition
from ai_cs.workflow import Workflow

ROOT = Path(__file__).resolve().parents[1]


def _has_cjk_font() -> bool:
    if not shutil.which("fc-list"):
        return False
    listed = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True, check=False)
    return bool(listed.stdout.strip())


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
    """Stored as the shop stores pictures: content-addressed under a storage key."""
    out = io.BytesIO()
    image.save(out, "PNG")
    kind = relative.split("/")[0]
    return datafiles.put(data_dir, kind, out.getvalue(), "png")


def product(data_dir: Path, colour: tuple[int, int, int], label: str) -> str:
    """A product photo (a bottle with a label) as a customer would send it."""
    image = Image.new("RGB", (480, 480), (236, 238, 240))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((150, 150, 330, 440), radius=30, fill=colour)
    draw.rectangle((210, 60, 270, 150), fill=colour)
    draw.rectangle((150, 260, 330, 320), fill=(250, 250, 245))
    draw.text((170, 272), label, fill=(40, 40, 40), font=cjk_font(30))
    return _store(data_dir, "images/product.png", image)


def _backdate(workflow: Workflow, task_id: str, days: int) -> None:
    """Move a task's stamps ``days`` back, so the week's chart has more than one day."""
    task = workflow.get_task(task_id)
    shift = {}
    for column in ("created_at", "paid_at", "started_at", "completed_at", "updated_at"):
        if task.get(column):
            moved = datetime.fromisoformat(task[column]) - timedelta(days=days)
            shift[column] = moved.isoformat(timespec="microseconds")
    with workflow.db.write() as session:
        session.execute(update(ImageTask).where(ImageTask.task_id == task_id).values(**shift))


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
    colours = [(40, 90, 200), (200, 60, 60), (30, 140, 80), (150, 80, 170), (230, 150, 20)]
    ids = []
    for i, (customer, name, operation) in enumerate(customers):
        picture = product(data_dir, colours[i % len(colours)], f"NO.{i + 1}")
        task = workflow.create_image_task(
            customer,
            picture,
            operation,
            customer_name=name,
            acc_id="xianyu_shop_01",
            acc_type="xianyu",
            price_fen=[1500, 2000, 3500, 4500, 1500, 6500, 2000, 1500][i],
        )
        ids.append(task["task_id"])
    _walk(workflow, ids[1], s.PAID, s.PROCESSING)
    _walk(
        workflow,
        ids[2],
        s.PAID,
        s.PROCESSING,
        s.FAILED,
        error_message="quality_check_failed: vectorized edges deviate 4.2 px from the source",
    )
    _walk(
        workflow,
        ids[3],
        s.PAID,
        s.PROCESSING,
        s.AWAITING_CONFIRM,
        result_image=cut_out(data_dir, "bottle.png"),
    )
    _walk(workflow, ids[4], s.PAID, s.PROCESSING, s.AWAITING_CONFIRM, s.COMPLETED)
    _walk(workflow, ids[5], s.CANCELLED)
    _walk(workflow, ids[6], s.PAID)
    _walk(workflow, ids[7], s.PAID, s.REFUNDED)
    workflow.db.run_write(
        lambda session: orders.hand_to_designer(
            session,
            workflow.clock,
            ids[2],
            "自动处理失败（3 次尝试）：quality_check_failed: edges deviate 4.2 px",
            orders.Caller.staff("system:worker"),
        )
    )
    # A week of business for the dashboard's chart: older orders, paid and delivered.
    for back in range(1, 7):
        for n in range(back % 3 + 1):
            older = workflow.create_image_task(
                f"buyer_{back}{n}",
                product(data_dir, colours[(back + n) % len(colours)], f"D{back}"),
                "remove_bg",
                customer_name=f"老客户{back}{n}",
                acc_id="xianyu_shop_01",
                acc_type="xianyu",
                price_fen=1500 + 500 * ((back + n) % 4),
            )
            if n < 2:
                _walk(workflow, older["task_id"], s.PAID, s.PROCESSING, s.AWAITING_CONFIRM)
                _walk(workflow, older["task_id"], s.COMPLETED)
            _backdate(workflow, older["task_id"], back)

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
        return {"task": tid, "conversation": "", "assist": ""}
    with workflow.db.write() as session:

        def chat(conversation_id: str, customer_id: str, nick: str) -> None:
            conversations.open_conversation(
                session,
                workflow.clock,
                conversation_id=conversation_id,
                platform="xianyu",
                account_id="xianyu_shop_01",
                customer_id=customer_id,
                customer_nick=nick,
            )

        def say(
            conversation_id: str,
            direction: str,
            role: str,
            text: str,
            author: str | None = None,
            attachments: tuple[Attachment, ...] = (),
        ) -> None:
            conversations.record_message(
                session,
                workflow.clock,
                conversation_id,
                direction=conversations.Direction(direction),
                role=conversations.Role(role),
                text=text,
                author=author,
                attachments=attachments,
            )

        chat(conversation_id, "buyer_2001", "美味小吃店")
        conversations.set_current_task(session, conversation_id, tid)
        say(
            conversation_id,
            "in",
            "customer",
            "",
            attachments=(Attachment(url=str(data_dir / original)),),
        )
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
            say(conversation_id, direction, role, text, author)
        conversations.take_over(session, workflow.clock, conversation_id, minutes=30, by="客服小王")
        for n, (nick, text) in enumerate(
            (("小明", "好的谢谢"), ("王女士", "什么时候能好呀？"), ("周师傅", "我要开发票"))
        ):
            chat(f"conv_xianyu_30{n}", f"buyer_30{n}", nick)
            say(f"conv_xianyu_30{n}", "in", "customer", text)
        conversations.mark_needs_human(session, workflow.clock, "conv_xianyu_302", "客户要开发票")
    return {"task": tid, "conversation": conversation_id, "assist": assist_chat(workflow, data_dir)}


def assist_chat(workflow: Workflow, data_dir: Path) -> str:
    """A 淘宝 buyer's message and picture relayed through 辅助回复 (the agent drafts)."""
    handler = AgentHandler(workflow, ocr=StaticOcr(), allow_local_files=True)
    picture = data_dir / product(data_dir, (40, 90, 200), "LOGO")
    cid = conversation_id_for("taobao", "tb_flagship", "tb_buyer_88")
    asyncio.run(
        handler.handle(
            InboundMessage(
                platform="taobao",
                account_id="tb_flagship",
                conversation_id=cid,
                customer_id="tb_buyer_88",
                customer_nick="淘宝买家88",
                text="你好，这张图帮我把背景去掉",
                attachments=(Attachment(url=str(picture)),),
            )
        )
    )
    return cid


SHOTS = (
    "dashboard",
    "board",
    "board-phone",
    "task",
    "conversation",
    "conversation-phone",
    "assist",
    "search",
    "dispatch",
    "notify",
    "accounts",
)


def _pictures_loaded(page: Any) -> None:
    """Wait until every picture has loaded (polled from here: the page's CSP forbids eval)."""
    script = "() => Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)"
    for _ in range(100):
        if page.evaluate(script):
            return
        page.wait_for_timeout(100)
    raise RuntimeError(f"pictures did not load on {page.url}")


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
    if not _has_cjk_font():
        # Without a Chinese font Chromium draws every label as empty boxes.
        subprocess.run(
            ["bash", str(ROOT / "scripts" / "system-deps.sh"), "fonts-wqy-microhei"], check=False
        )
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
                    locale="zh-CN", viewport={"width": 1440, "height": 900}, device_scale_factor=1
                )
                page = context.new_page()
                page.goto(f"{server.url}/console/login")
                page.fill("#key", key)
                page.click("button[type=submit].primary")
                page.wait_for_selector("#dashboard")
                shots = [
                    ("dashboard", "/console/", "#dashboard"),
                    ("board", "/console/board", "#board"),
                    ("task", f"/console/tasks/{ids['task']}", "#timeline"),
                    ("search", "/console/search?q=xianyu_shop_01", "main"),
                    ("dispatch", "/console/dispatch", "main"),
                    ("notify", "/console/notify", "main"),
                    ("accounts", "/console/accounts", "main"),
                ]
                chat = f"/console/conversations/{quote(ids['conversation'])}"
                assist = f"/console/assist?conversation={quote(ids['assist'])}"
                if ids["conversation"]:
                    shots += [("conversation", chat, "#messages"), ("assist", assist, "#draft")]
                for name, path, ready in shots:
                    page.goto(f"{server.url}{path}")
                    page.wait_for_selector(ready)
                    _pictures_loaded(page)
                    page.screenshot(path=str(args.out / f"{name}.png"), full_page=True)
                page.set_viewport_size({"width": 390, "height": 844})
                phone = [("board-phone", "/console/board", "#board")]
                if ids["conversation"]:
                    phone.append(("conversation-phone", chat, "#messages"))
                for name, path, ready in phone:
                    page.goto(f"{server.url}{path}")
                    page.wait_for_selector(ready)
                    _pictures_loaded(page)
                    page.screenshot(path=str(args.out / f"{name}.png"))
                context.close()
                browser.close()
        finally:
            workflow.close()
    for name in SHOTS:
        path = args.out / f"{name}.png"
        if path.exists():
            print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
