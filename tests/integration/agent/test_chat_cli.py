"""``aics chat`` scripted through standard input (not a terminal): one message a line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ai_cs.cli import build_app
from ai_cs.config import Settings, get_settings
from ai_cs.core.tasks import Operation, TaskStatus
from ai_cs.workflow import Workflow


@pytest.fixture
def runner(
    monkeypatch: pytest.MonkeyPatch, database_url: str, tmp_path: Path
) -> Iterator[CliRunner]:
    monkeypatch.setenv("AICS_DATABASE_URL", database_url)
    monkeypatch.setenv("AICS_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    try:
        yield CliRunner()
    finally:
        get_settings.cache_clear()


def test_scripted_chat_quotes_changes_pays_and_reports_progress(
    runner: CliRunner, picture: Path, database_url: str, settings: Settings
) -> None:
    script = "\n".join(
        [
            "你好",
            "我要抠图",
            f"/image {picture}",
            "对了，要高清一点",
            "改成要分层文件",
            "/pay",
            "进度怎么样了",
            "/quit",
            "这行不会被读到",
        ]
    )
    result = runner.invoke(
        build_app(), ["chat", "--customer", "cli_c1", "--no-ocr"], input=script + "\n"
    )
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 7  # six replies and the platform's payment line
    assert "欢迎光临" in lines[0]
    assert "订单号 TASK_" in lines[2]
    assert "要高清一点" in lines[3]
    assert "抠图并分层" in lines[4]
    assert lines[5].startswith("[平台] 已付款") and "applied" in lines[5]
    assert "处理中" in lines[6]

    wf = Workflow(database_url=database_url, settings=settings)
    try:
        task = wf.get_customer_tasks("cli_c1")[0]
    finally:
        wf.close()
    assert task["status"] == TaskStatus.PROCESSING
    assert task["operation"] == Operation.REMOVE_BG_AND_LAYER
    assert task["customer_notes"].endswith("要高清一点")
    assert f"{task['price_fen'] / 100:.2f} 元" in lines[5]
