"""The designer page in headless Chromium: log in, look at the original, claim, upload, finish.

Uses Debian's Chromium (``apt-get install -y chromium``); skipped when it is not installed.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from PIL import Image, ImageDraw

from ai_cs import datafiles
from ai_cs.auth.service import create_key
from ai_cs.config import Settings
from ai_cs.dispatch import service
from ai_cs.dispatch.app import DispatchOptions, create_dispatch_app
from ai_cs.dispatch.schemas import JobCreate
from ai_cs.processing.storage import LocalStorage
from ai_cs.workflow import Workflow

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"


def picture(alpha: bool) -> bytes:
    img = Image.new(
        "RGBA" if alpha else "RGB", (120, 90), (0, 0, 0, 0) if alpha else (90, 160, 220)
    )
    ImageDraw.Draw(img).rectangle(
        (30, 20, 90, 70), fill=(220, 60, 40, 255) if alpha else (220, 60, 40)
    )
    buffer = io.BytesIO()
    img.save(buffer, "PNG")
    return buffer.getvalue()


class Server:
    """The dispatch app under uvicorn in a thread on a free loopback port."""

    def __init__(self, app: Any) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind(("127.0.0.1", 0))
        self.socket = sock
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        config = uvicorn.Config(app, log_level="warning", access_log=False, ws="none")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(20)
        self.socket.close()


@pytest.fixture
def shop(sqlite_url: str, settings: Settings) -> Iterator[dict[str, Any]]:
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.skip("Chromium is not installed (apt-get install -y chromium)")
    workflow = Workflow(database_url=sqlite_url, settings=settings)
    clock = workflow.clock
    original = settings.data_dir / datafiles.put(
        settings.data_dir, "images", picture(alpha=False), "png"
    )
    with workflow.db.write() as session:
        designer_key = create_key(session, clock, name="设计师小王", scope="designer")
        other_key = create_key(session, clock, name="设计师小李", scope="designer")
    jobs = []
    for n, reason in enumerate(["自动抠图质检未通过：边缘不平滑", "客户要求人工处理"]):
        body = JobCreate(
            task_id=f"TASK_20260227_00{n + 1}",
            original_image=str(original),
            operation="remove_bg",
            reason=reason,
            customer_notes="[02-27 18:00] 需要去掉背景",
            analysis={"complexity": "complex", "aspect_ratio": "4:3", "perspective": "no"},
            quote={"operation": "remove_bg", "total_fen": 2500, "items": []},
        )
        job, _ = workflow.db.run_write(
            lambda s, b=body, k=f"b{n}": service.create_job(s, clock, b, k)
        )
        jobs.append(job.job_id)
    app = create_dispatch_app(
        settings, db=workflow.db, clock=clock, options=DispatchOptions(background=False)
    )
    server = Server(app)
    try:
        yield {
            "url": server.url,
            "key": designer_key,
            "other_key": other_key,
            "jobs": jobs,
            "workflow": workflow,
            "original": original.read_bytes(),
        }
    finally:
        server.stop()
        workflow.close()


def test_a_designer_logs_in_claims_a_job_and_uploads_the_result(
    shop: dict[str, Any], tmp_path: Path
) -> None:
    from playwright.sync_api import expect, sync_playwright

    result = picture(alpha=True)
    result_file = tmp_path / "抠图结果.png"
    result_file.write_bytes(result)
    first, second = shop["jobs"]
    workflow: Workflow = shop["workflow"]

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        try:
            page = browser.new_page()
            problems: list[str] = []
            page.on("pageerror", lambda exc: problems.append(str(exc)))
            # Script errors and CSP violations count; the browser's own notes about the 401 and
            # 409 answers this test provokes on purpose do not.
            page.on(
                "console",
                lambda msg: (
                    problems.append(msg.text)
                    if msg.type == "error" and "Failed to load resource" not in msg.text
                    else None
                ),
            )
            page.goto(shop["url"] + "/")
            expect(page.locator("h1")).to_have_text("图绘派单 · 设计师工作台")

            page.fill("#key", "aics_wrong_key")
            page.fill("#designer", "小王")
            page.click("#login-button")
            expect(page.locator("#message")).to_contain_text("密钥无效")
            expect(page.locator("#work")).to_be_hidden()

            page.fill("#key", shop["key"])
            page.click("#login-button")
            expect(page.locator("#message")).to_contain_text("欢迎，小王")
            open_jobs = page.locator("#open-list li.job")
            expect(open_jobs).to_have_count(2)
            card = page.locator(f'#open-list li[data-job-id="{first}"]')
            expect(card.locator(".reason")).to_have_text("自动抠图质检未通过：边缘不平滑")
            expect(card.locator(".operation")).to_have_text("抠图去背景")
            expect(card.locator(".quote")).to_have_text("合计 ¥25.00")

            card.locator(".view-original").click()
            expect(page.locator("#viewer")).to_be_visible()
            page.wait_for_function("document.getElementById('viewer-img').naturalWidth === 120")
            page.click("#viewer-close")
            expect(page.locator("#viewer")).to_be_hidden()

            card.locator(".claim").click()
            expect(page.locator("#message")).to_contain_text("接单成功")
            mine = page.locator(f'#mine-list li[data-job-id="{first}"]')
            expect(mine).to_be_visible()
            expect(mine.locator(".deadline")).not_to_be_empty()

            # Meanwhile another designer takes the second job; claiming it here says so.
            with workflow.db.write() as session:
                service.claim_job(session, workflow.clock, second, "小李", "other")
            page.locator(f'#open-list li[data-job-id="{second}"] .claim').click()
            expect(page.locator("#message")).to_contain_text("已被其他设计师接走")
            expect(page.locator("#open-list li.job")).to_have_count(0)

            mine.locator(".result-file").set_input_files(str(result_file))
            mine.locator(".finish").click()
            expect(page.locator("#message")).to_contain_text("上传成功")
            done = page.locator(f'#done-list li[data-job-id="{first}"]')
            expect(done).to_be_visible()
            expect(done.locator(".callback")).to_have_text("回传中")
            expect(page.locator("#workload tbody tr")).to_have_count(2)
            assert problems == []
        finally:
            browser.close()

    with workflow.db.read() as session:
        job = service.load_job(session, first)
        assert (job.status, job.designer, job.result_name) == ("done", "小王", "抠图结果.png")
        assert job.result_sha256 == hashlib.sha256(result).hexdigest()
        stored = LocalStorage(workflow.settings.data_dir / "dispatch").get(job.result_path or "")
        assert stored == result
