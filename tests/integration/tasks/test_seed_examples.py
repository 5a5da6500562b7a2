"""Every example of the seed document (图片任务数据库功能说明) run as written there."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ai_cs.workflow import Workflow

pytestmark = pytest.mark.anyio


@pytest.fixture
def workflow(fixed_workflow: Workflow) -> Workflow:
    """The workflow at the seed's own date, under the name its examples call it by."""
    return fixed_workflow


async def test_seed_scenarios_run_verbatim(workflow: Workflow) -> None:
    # 场景 1：客户发送图片创建任务
    task = workflow.image_analysis_result(
        customer_id="customer_123",
        image_url="https://xxx.com/image.jpg",
        complexity="normal",
        aspect_ratio="1:1",
        perspective="no",
    )
    assert task["task_id"] == "TASK_20260227_001"
    assert task["status"] == "pending"
    assert task["requirements"] == {
        "complexity": "normal",
        "aspect_ratio": "1:1",
        "perspective": "no",
    }
    assert task["original_image"] == "https://xxx.com/image.jpg"

    # 场景 3：客户增加需求细节
    await workflow.add_customer_requirement(
        task_id="TASK_20260227_001", customer_id="customer_123", requirement="需要去掉背景"
    )
    assert workflow.get_task("TASK_20260227_001")["customer_notes"] == "[02-27 18:00] 需要去掉背景"

    # 场景 4：客户修改操作类型
    await workflow.modify_operation(
        task_id="TASK_20260227_001",
        customer_id="customer_123",
        new_operation="remove_bg_and_layer",
    )
    assert workflow.get_task("TASK_20260227_001")["operation"] == "remove_bg_and_layer"

    # 场景 5：查看需求变更历史
    history = workflow.get_task_requirement_history("TASK_20260227_001")
    assert [{k: h[k] for k in ("change_type", "old_value", "new_value")} for h in history] == [
        {
            "change_type": "modify_operation",
            "old_value": "enhance",
            "new_value": "remove_bg_and_layer",
        },
        {"change_type": "add_note", "old_value": "无", "new_value": "需要去掉背景"},
    ]
    assert {h["changed_by"] for h in history} == {"customer"}

    # 场景 2：客户付款开始处理
    workflow.trigger_processing_on_payment(customer_id="customer_123")
    paid = workflow.get_task("TASK_20260227_001")
    assert paid["status"] == "processing"
    assert paid["paid_at"] is not None and paid["started_at"] is not None


async def test_seed_api_section_runs_verbatim(workflow: Workflow) -> None:
    # 创建任务 (the API section names its task TASK_001)
    created = workflow.create_image_task(
        customer_id="customer_123",
        original_image="https://xxx.com/image.jpg",
        operation="enhance",
    )
    assert created["status"] == "pending"
    workflow.create_image_task(
        customer_id="customer_123",
        original_image="https://xxx.com/image.jpg",
        operation="enhance",
        task_id="TASK_001",
    )
    # 添加需求
    await workflow.add_customer_requirement(
        task_id="TASK_001", customer_id="customer_123", requirement="需要高分辨率"
    )
    # 修改操作
    await workflow.modify_operation(
        task_id="TASK_001", customer_id="customer_123", new_operation="vectorize"
    )
    # 查询任务
    task = workflow.get_task("TASK_001")
    tasks = workflow.get_customer_tasks("customer_123")
    assert task["operation"] == "vectorize"
    assert task["customer_notes"] == "[02-27 18:00] 需要高分辨率"
    assert {t["task_id"] for t in tasks} == {"TASK_001", created["task_id"]}
    # 查询历史
    history = workflow.get_task_requirement_history("TASK_001")
    assert [h["change_type"] for h in history] == ["modify_operation", "add_note"]


async def test_seed_sql_queries_run_unchanged_on_the_sqlite_file(
    tmp_path: Path, settings, clock
) -> None:
    db_file = tmp_path / "image_tasks.db"
    workflow = Workflow(database_url=f"sqlite:///{db_file}", settings=settings, clock=clock)
    workflow.create_image_task(
        customer_id="customer_123",
        original_image="https://xxx.com/a.jpg",
        operation="enhance",
        task_id="TASK_001",
    )
    workflow.create_image_task(
        customer_id="customer_456", original_image="https://xxx.com/b.jpg", operation="remove_bg"
    )
    await workflow.add_customer_requirement("TASK_001", "customer_123", "需要去掉背景")
    await workflow.modify_operation("TASK_001", "customer_123", "vectorize")
    workflow.close()

    conn = sqlite3.connect(db_file)
    rows = conn.execute(
        "SELECT task_id, customer_id, status, created_at FROM image_tasks "
        "ORDER BY created_at DESC LIMIT 10;"
    ).fetchall()
    assert len(rows) == 2 and {r[2] for r in rows} == {"pending"}
    pending = conn.execute("SELECT * FROM image_tasks WHERE status='pending';").fetchall()
    assert len(pending) == 2
    changes = conn.execute(
        "SELECT task_id, change_type, old_value, new_value, changed_at, changed_by\n"
        "FROM task_requirement_changes\n"
        "WHERE task_id='TASK_001'\n"
        "ORDER BY changed_at DESC;"
    ).fetchall()
    assert {c[1] for c in changes} == {"add_note", "modify_operation"}
    assert all(c[5] == "customer" for c in changes)
    # The seed's column names and types, exactly.
    cols = {r[1]: r[2] for r in conn.execute("PRAGMA table_info(image_tasks)")}
    seed = {
        "task_id": "TEXT",
        "customer_id": "TEXT",
        "customer_name": "TEXT",
        "original_image": "TEXT",
        "operation": "TEXT",
        "requirements": "TEXT",
        "customer_notes": "TEXT",
        "status": "TEXT",
        "created_at": "TEXT",
        "paid_at": "TEXT",
        "started_at": "TEXT",
        "completed_at": "TEXT",
        "result_image": "TEXT",
        "error_message": "TEXT",
        "retry_count": "INTEGER",
        "acc_id": "TEXT",
        "acc_type": "TEXT",
    }
    assert {k: cols[k] for k in seed} == seed
    change_cols = {r[1]: r[2] for r in conn.execute("PRAGMA table_info(task_requirement_changes)")}
    assert change_cols == {
        "id": "INTEGER",
        "task_id": "TEXT",
        "change_type": "TEXT",
        "old_value": "TEXT",
        "new_value": "TEXT",
        "changed_at": "TEXT",
        "changed_by": "TEXT",
    }
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()
