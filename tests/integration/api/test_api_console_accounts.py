"""店铺账号 in the staff console: add by pasting a cookie, state, pause/resume, remove."""

from __future__ import annotations

import httpx

from ai_cs.bridges import accounts
from ai_cs.workflow import Workflow
from factories import csrf_of

COOKIE = (
    "cna=x; unb=1000000009; cookie2=secretvalue123; _m_h5_tk=abc_1; tracknick=%E5%B0%8F%E5%BA%97"
)


def test_accounts_page_add_pause_resume_remove(console: httpx.Client, workflow: Workflow) -> None:
    page = console.get("/console/accounts")
    assert page.status_code == 200 and "还没有店铺账号" in page.text
    assert 'href="/console/accounts"' in page.text  # in the navigation
    csrf = csrf_of(page.text)

    refused = console.post("/console/accounts", data={"csrf": csrf, "cookie": "cna=1; foo=2"})
    assert refused.status_code == 422 and "unb" in refused.text

    added = console.post("/console/accounts", data={"csrf": csrf, "cookie": COOKIE})
    assert added.status_code == 303 and added.headers["location"] == "/console/accounts?ok=added"
    listed = console.get("/console/accounts")
    assert "小店" in listed.text and "1000000009" in listed.text and "未连接" in listed.text
    assert "secretvalue123" not in listed.text  # the cookie never comes back out
    with workflow.db.read() as session:
        secrets = accounts.load_secrets(
            session, accounts.AccountCipher(workflow.settings), "xianyu", "1000000009"
        )
    assert "cookie2=secretvalue123" in secrets.cookie

    paused = console.post("/console/accounts/xianyu/1000000009/pause", data={"csrf": csrf})
    assert paused.status_code == 303
    with workflow.db.read() as session:
        assert accounts.get_account(session, "xianyu", "1000000009").state == "paused"
    assert "已暂停" in console.get("/console/accounts").text
    console.post("/console/accounts/xianyu/1000000009/resume", data={"csrf": csrf})
    with workflow.db.read() as session:
        view = accounts.get_account(session, "xianyu", "1000000009")
    assert (view.state, view.paused) == ("new", False)

    unknown = console.post("/console/accounts/xianyu/1000000009/delete", data={"csrf": csrf})
    assert unknown.status_code == 404
    with workflow.db.read() as session:
        assert [a.account_id for a in accounts.list_accounts(session)] == ["1000000009"]
    forged = console.post("/console/accounts/xianyu/1000000009/remove", data={"csrf": "0" * 64})
    assert "err=csrf" in forged.headers["location"]
    console.post("/console/accounts/xianyu/1000000009/remove", data={"csrf": csrf})
    with workflow.db.read() as session:
        assert accounts.list_accounts(session) == []


def test_accounts_page_needs_a_login(client: httpx.Client) -> None:
    response = client.get("/console/accounts")
    assert response.status_code == 303 and "/console/login" in response.headers["location"]
