"""A database that goes away answers 503 with Retry-After, not 500."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import text

from ai_cs.api import create_app
from ai_cs.auth.service import create_key
from ai_cs.config import Settings
from ai_cs.workflow import Workflow


def test_database_errors_become_503(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, _env_file=None)
    wf = Workflow(database_url=f"sqlite:///{tmp_path / 'a.db'}", settings=settings)
    with wf.db.write() as s:
        key = create_key(s, wf.clock, name="staff", scope="staff")
    app = create_app(settings, workflow=wf)
    with TestClient(app) as client:
        headers = {"Authorization": f"Bearer {key}"}
        assert client.get("/api/v1/tasks", headers=headers).status_code == 200
        # Pull the tables out from under the running app.
        with wf.db.write() as s:
            s.execute(text("ALTER TABLE image_tasks RENAME TO image_tasks_gone"))
        response = client.get("/api/v1/tasks", headers=headers)
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "database_unavailable"
        assert response.headers["retry-after"] == "5"
    wf.close()
