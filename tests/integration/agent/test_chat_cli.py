"""``aics chat`` scripted through standard input (not a terminal): one message a line."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from ai_cs.cli import build_app
from ai_cs.config import Settings
from ai_cs.core.money import yuan
from ai_cs.core.tasks import Operation, TaskStatus
from ai_cs.jobs import presence
from ai_cs.workflow import Workflow


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
    assert "欢迎光临" in lines[0]
    assert "订单号 TASK_" in lines[2]
    assert "要高清一点" in lines[3]
    assert "抠图并分层" in lines[4]
    # The shop's own receipt, then (no server runs: the chat ran a worker) the result.
    assert lines[5].startswith("已收到您的付款") and "开始处理" in lines[5]
    assert "[平台]" not in result.output and "applied" not in result.output
    assert "已处理完成" in lines[6] and lines[7].startswith("下载结果：")
    assert "确认" in lines[8]
    assert "处理好" in lines[9]  # 进度怎么样了
    assert len(lines) == 10

    wf = Workflow(database_url=database_url, settings=settings)
    try:
        task = wf.get_customer_tasks("cli_c1")[0]
    finally:
        wf.close()
    assert task["status"] == TaskStatus.AWAITING_CONFIRM
    assert task["operation"] == Operation.REMOVE_BG_AND_LAYER
    assert task["customer_notes"].endswith("要高清一点")
    assert f"付款 {yuan(task['price_fen'])} 元" in lines[5]
    result_file = Path(lines[7].removeprefix("下载结果："))
    assert result_file == settings.data_dir / task["result_image"]
    assert result_file.read_bytes()[:4] == b"8BPS"  # a layered PSD


def test_a_chat_leaves_paid_orders_to_a_live_worker(
    runner: CliRunner, picture: Path, database_url: str, settings: Settings
) -> None:
    wf = Workflow(database_url=database_url, settings=settings)
    try:
        presence.beat(wf.db, wf.clock, "elsewhere:1:abc", "embedded")  # aics serve, say
        result = runner.invoke(
            build_app(),
            ["chat", "--customer", "cli_c2", "--no-ocr", "--wait", "1"],
            input=f"/image {picture} 抠图\n/pay\n",
        )
        assert result.exit_code == 0, result.output
        assert "还在处理中" in result.output
        assert wf.get_customer_tasks("cli_c2")[0]["status"] == TaskStatus.PROCESSING
    finally:
        wf.close()


def test_a_mistyped_command_is_explained_not_sent_to_the_shop(
    runner: CliRunner, picture: Path, database_url: str, settings: Settings
) -> None:
    script = f"/picture {picture}\n/img {picture}\n/quit\n"
    result = runner.invoke(
        build_app(), ["chat", "--customer", "cli_typo", "--no-ocr"], input=script
    )
    assert result.exit_code == 0, result.output
    assert "没有 /picture 这个命令" in result.output and "没有 /img 这个命令" in result.output
    assert "/image 图片路径" in result.output
    assert "记下了" not in result.output  # the agent never saw the line
    wf = Workflow(database_url=database_url, settings=settings)
    try:
        assert wf.get_customer_tasks("cli_typo") == []
    finally:
        wf.close()
