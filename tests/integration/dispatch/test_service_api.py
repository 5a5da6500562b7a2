"""The dispatch service's HTTP API: keys, idempotent creation, claim/release/finish rules, files."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from dispatch_helpers import (
    SVG_LOGO,
    Shop,
    cutout_png,
    layered_psd,
    opaque_jpeg,
    photo_png,
    store_original,
)

from ai_cs.auth.service import create_key
from ai_cs.config import Settings
from ai_cs.dispatch.app import DispatchOptions, create_dispatch_app
from ai_cs.workflow import Workflow


def job_body(
    task_id: str = "TASK_20260227_001", operation: str = "remove_bg", **extra: Any
) -> dict[str, Any]:
    return {
        "task_id": task_id,
        "original_image": extra.pop("original_image", "https://xxx.com/image.jpg"),
        "operation": operation,
        "reason": extra.pop("reason", "质检未通过：边缘不平滑"),
        "customer_notes": "[02-27 18:00] 需要去掉背景",
        "analysis": {"complexity": "complex", "aspect_ratio": "1:1", "perspective": "no"},
        "quote": {"operation": operation, "total_fen": 3000, "items": []},
        **extra,
    }


def make_job(staff: httpx.Client, key: str, **kwargs: Any) -> dict[str, Any]:
    response = staff.post("/api/v1/jobs", json=job_body(**kwargs), headers={"Idempotency-Key": key})
    assert response.status_code == 201, response.text
    return dict(response.json())


def upload(
    http: httpx.Client, job_id: str, designer: str, data: bytes, name: str = "r.png"
) -> httpx.Response:
    return http.post(
        f"/api/v1/jobs/{job_id}/finish",
        data={"designer": designer},
        files={"result": (name, data, "application/octet-stream")},
    )


def claimed(http: httpx.Client, job_id: str, designer: str) -> None:
    response = http.post(f"/api/v1/jobs/{job_id}/claim", json={"designer": designer})
    assert response.status_code == 200, response.text


def error_code(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])


def test_keys_and_scopes(shop: Shop) -> None:
    with httpx.Client(base_url=shop.dispatch.url) as anonymous:
        assert anonymous.get("/api/v1/jobs").status_code == 401
        bad = anonymous.get("/api/v1/jobs", headers={"Authorization": "Bearer aics_x_y"})
        assert bad.status_code == 401 and error_code(bad) == "unauthorized"
        assert anonymous.get("/healthz").json() == {"status": "ok"}
    assert shop.client("partner").get("/api/v1/jobs").status_code == 403
    designer_post = shop.client("wang").post("/api/v1/jobs", json=job_body())
    assert designer_post.status_code == 403 and error_code(designer_post) == "forbidden"
    assert shop.client("relay").get("/api/v1/jobs").status_code == 200
    assert shop.client("admin").post("/api/v1/jobs", json=job_body()).status_code == 201


def test_creating_a_job_is_idempotent(shop: Shop) -> None:
    staff = shop.client("relay")
    first = staff.post(
        "/api/v1/jobs", json=job_body(), headers={"Idempotency-Key": "dispatch:T1:1"}
    )
    again = staff.post(
        "/api/v1/jobs", json=job_body(), headers={"Idempotency-Key": "dispatch:T1:1"}
    )
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["job_id"] == again.json()["job_id"]
    in_body = staff.post("/api/v1/jobs", json=job_body(idempotency_key="dispatch:T1:1"))
    assert in_body.status_code == 200 and in_body.json()["job_id"] == first.json()["job_id"]

    reused = staff.post(
        "/api/v1/jobs",
        json=job_body(reason="另一个原因"),
        headers={"Idempotency-Key": "dispatch:T1:1"},
    )
    assert reused.status_code == 409 and error_code(reused) == "idempotency_key_reused"
    disagree = staff.post(
        "/api/v1/jobs", json=job_body(idempotency_key="a"), headers={"Idempotency-Key": "b"}
    )
    assert disagree.status_code == 422
    unknown = staff.post("/api/v1/jobs", json=job_body(operation="paint"))
    assert unknown.status_code == 422 and error_code(unknown) == "unknown_operation"
    missing = staff.post("/api/v1/jobs", json={"task_id": "T"})
    assert missing.status_code == 422 and error_code(missing) == "invalid_request"
    assert (
        staff.post(
            "/api/v1/jobs", content=b"{oops", headers={"Content-Type": "application/json"}
        ).status_code
        == 422
    )

    listing = staff.get("/api/v1/jobs", params={"status": "open"}).json()
    assert listing["count"] == 1
    assert set(listing["data"][0]) >= {"job_id", "task_id", "operation", "reason", "status"}
    bad_status = staff.get("/api/v1/jobs", params={"status": "closed"})
    assert bad_status.status_code == 422 and error_code(bad_status) == "unknown_job_status"
    assert staff.get("/api/v1/jobs", params={"limit": 0}).status_code == 422
    assert staff.get("/api/v1/jobs/JOB_nope").status_code == 404


def test_claim_release_and_finish_belong_to_the_claimer(shop: Shop) -> None:
    staff, wang, li, admin = (shop.client(k) for k in ("relay", "wang", "li", "admin"))
    job = make_job(staff, "k1")
    job_id = job["job_id"]

    early = upload(wang, job_id, "小王", cutout_png())
    assert early.status_code == 409 and error_code(early) == "job_state_conflict"
    claimed(wang, job_id, "小王")
    claimed(wang, job_id, "小王")  # a retried claim by the same designer is answered, not refused
    taken = li.post(f"/api/v1/jobs/{job_id}/claim", json={"designer": "小李"})
    assert taken.status_code == 409 and error_code(taken) == "job_already_claimed"
    # Same key, other name (a shared key): still not the claimer.
    not_mine = wang.post(f"/api/v1/jobs/{job_id}/release", json={"designer": "小张"})
    assert not_mine.status_code == 403 and error_code(not_mine) == "not_job_claimer"
    foreign = upload(li, job_id, "小李", cutout_png())
    assert foreign.status_code == 403 and error_code(foreign) == "not_job_claimer"
    assert li.post(f"/api/v1/jobs/{job_id}/claim", json={"designer": ""}).status_code == 422

    released = wang.post(f"/api/v1/jobs/{job_id}/release", json={"designer": "小王"})
    assert released.status_code == 200
    assert (released.json()["status"], released.json()["designer"]) == ("open", None)
    again = wang.post(f"/api/v1/jobs/{job_id}/release", json={"designer": "小王"})
    assert again.status_code == 409

    claimed(li, job_id, "小李")
    by_admin = admin.post(f"/api/v1/jobs/{job_id}/release", json={"designer": "店长"})
    assert by_admin.status_code == 200 and by_admin.json()["status"] == "open"

    claimed(li, job_id, "小李")
    result = cutout_png()
    done = upload(li, job_id, "小李", result)
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["status"] == "done" and body["result_mime"] == "image/png"
    assert body["result_url"].endswith(f"/api/v1/jobs/{job_id}/result")
    same = upload(li, job_id, "小李", result)  # a retried upload of the same file
    assert same.status_code == 200 and same.json()["finished_at"] == body["finished_at"]
    other = upload(li, job_id, "小李", cutout_png(colour=(1, 2, 3)))
    assert other.status_code == 409
    stored = staff.get(f"/api/v1/jobs/{job_id}/result")
    assert stored.status_code == 200 and stored.content == result
    assert stored.headers["x-content-type-options"] == "nosniff"
    assert li.post(f"/api/v1/jobs/{job_id}/claim", json={"designer": "小李"}).status_code == 409

    load = staff.get("/api/v1/designers/workload").json()
    assert load["data"] == [{"designer": "小李", "claimed": 0, "overdue": 0, "done": 1}]


REFUSED_RESULTS = [
    ("remove_bg", opaque_jpeg(), "r.jpg", "wrong_result_format"),
    ("remove_bg", photo_png(), "r.png", "wrong_result_format"),  # opaque: not a cut-out
    ("remove_bg", b"just some text", "r.png", "result_rejected"),
    ("remove_bg", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "r.png", "result_rejected"),
    ("vectorize", cutout_png(), "r.png", "wrong_result_format"),
    (
        "vectorize",
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><svg/>',
        "r.svg",
        "unsafe_svg",
    ),
    (
        "vectorize",
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>x</script></svg>',
        "r.svg",
        "result_rejected",
    ),
    ("remove_bg_and_layer", layered_psd(1), "r.psd", "wrong_result_format"),
    ("remove_bg_and_layer", b"8BPS" + os.urandom(200), "r.psd", "result_rejected"),
    ("enhance", b"", "r.png", "result_rejected"),
]


def test_results_that_are_not_what_the_operation_delivers_are_refused(shop: Shop) -> None:
    staff, wang = shop.client("relay"), shop.client("wang")
    for n, (operation, data, name, expected) in enumerate(REFUSED_RESULTS):
        job_id = make_job(staff, f"k{n}", operation=operation, task_id=f"TASK_{n}")["job_id"]
        claimed(wang, job_id, "小王")
        answer = upload(wang, job_id, "小王", data, name)
        assert answer.status_code == 422, (operation, name, answer.text)
        assert error_code(answer) == expected, (operation, name, answer.text)
        assert wang.get(f"/api/v1/jobs/{job_id}").json()["status"] == "claimed"


def test_svg_and_psd_results_are_accepted_and_svg_is_cleaned(shop: Shop) -> None:
    staff, wang = shop.client("relay"), shop.client("wang")
    svg_job = make_job(staff, "svg", operation="vectorize", task_id="TASK_1")["job_id"]
    psd_job = make_job(staff, "psd", operation="remove_bg_and_layer", task_id="TASK_2")["job_id"]
    for job_id in (svg_job, psd_job):
        claimed(wang, job_id, "小王")
    assert upload(wang, svg_job, "小王", SVG_LOGO, "logo.svg").status_code == 200
    psd = layered_psd(3)
    assert upload(wang, psd_job, "小王", psd, "layers.psd").status_code == 200
    cleaned = staff.get(f"/api/v1/jobs/{svg_job}/result")
    assert cleaned.headers["content-type"].startswith("image/svg+xml")
    assert b"<circle" in cleaned.content
    assert b"script" not in cleaned.content and b"onload" not in cleaned.content
    assert "sandbox" in cleaned.headers["content-security-policy"]
    assert staff.get(f"/api/v1/jobs/{psd_job}/result").content == psd


def test_finish_needs_a_multipart_upload(shop: Shop) -> None:
    staff, wang = shop.client("relay"), shop.client("wang")
    job_id = make_job(staff, "k")["job_id"]
    claimed(wang, job_id, "小王")
    as_json = wang.post(f"/api/v1/jobs/{job_id}/finish", json={"designer": "小王"})
    assert as_json.status_code == 415
    no_file = wang.post(
        f"/api/v1/jobs/{job_id}/finish", data={"designer": "小王"}, files={"other": ("a", b"x")}
    )
    assert no_file.status_code == 422
    no_name = wang.post(f"/api/v1/jobs/{job_id}/finish", files={"result": ("r.png", cutout_png())})
    assert no_name.status_code == 422
    two_files = wang.post(
        f"/api/v1/jobs/{job_id}/finish",
        data={"designer": "小王"},
        files=[("result", ("a.png", cutout_png())), ("result", ("b.png", cutout_png()))],
    )
    assert two_files.status_code == 400
    broken = wang.post(
        f"/api/v1/jobs/{job_id}/finish",
        content=b"--xx\r\nnot really multipart",
        headers={"Content-Type": "multipart/form-data; boundary=xx"},
    )
    assert broken.status_code in (400, 422)


def test_the_original_is_served_only_from_the_data_folder(shop: Shop) -> None:
    staff, wang = shop.client("relay"), shop.client("wang")
    picture = photo_png()
    inside = store_original(shop.settings, picture)
    ok = make_job(staff, "a", original_image=str(inside), task_id="TASK_A")["job_id"]
    secret_file = shop.settings.data_dir / "dispatch_callback.secret"
    secret_file.write_text("not for designers\n")
    cases = {
        "b": "/etc/passwd",
        "c": str(shop.settings.data_dir / ".." / "ai_cs.db"),
        "d": str(secret_file),
        "e": "http://127.0.0.1:1/private.png",  # loopback is not a public address
        "f": "file:///etc/passwd",
    }
    refused = {
        k: make_job(staff, k, original_image=v, task_id=f"TASK_{k}")["job_id"]
        for k, v in cases.items()
    }
    served = wang.get(f"/api/v1/jobs/{ok}/original")
    assert served.status_code == 200 and served.content == picture
    assert served.headers["content-type"] == "image/png"
    for job_id in refused.values():
        answer = wang.get(f"/api/v1/jobs/{job_id}/original")
        assert answer.status_code == 404, answer.text
        assert error_code(answer) == "original_unavailable"
        assert b"not for designers" not in answer.content


def test_the_designer_page_is_chinese_and_locked_down(shop: Shop) -> None:
    with httpx.Client(base_url=shop.dispatch.url) as browser:
        page = browser.get("/")
        assert page.status_code == 200
        assert "设计师工作台" in page.text and "接单" in page.text and "上传并完成" in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert "http" not in page.text.split("<body>", 1)[1].split("</body>")[0].replace(
            "https://", ""
        )
        script = browser.get("/static/designer.js")
        assert script.status_code == 200 and "textContent" in script.text
        assert ".innerHTML" not in script.text
        assert browser.get("/openapi.json").json()["paths"]["/api/v1/jobs/{job_id}/finish"]


# --- upload size limits, in-process (no socket: the cut-off must not depend on the network) ----
@pytest.fixture
async def small_limit_client(
    settings: Settings, workflow: Workflow
) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    app = create_dispatch_app(
        settings,
        db=workflow.db,
        clock=workflow.clock,
        options=DispatchOptions(background=False, max_result_bytes=100_000),
    )
    with workflow.db.write() as session:
        staff = create_key(session, workflow.clock, name="relay", scope="staff")
        designer = create_key(session, workflow.clock, name="设计师", scope="designer")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://dispatch") as http:
        made = await http.post(
            "/api/v1/jobs",
            json=job_body(operation="enhance"),
            headers={"Authorization": f"Bearer {staff}"},
        )
        job_id = made.json()["job_id"]
        http.headers["Authorization"] = f"Bearer {designer}"
        claim = await http.post(f"/api/v1/jobs/{job_id}/claim", json={"designer": "小王"})
        assert claim.status_code == 200
        yield http, job_id


@pytest.mark.anyio
async def test_uploads_over_the_limit_are_cut_off(
    small_limit_client: tuple[httpx.AsyncClient, str],
) -> None:
    http, job_id = small_limit_client
    big = os.urandom(300_000)
    declared = await http.post(
        f"/api/v1/jobs/{job_id}/finish",
        data={"designer": "小王"},
        files={"result": ("big.png", big)},
    )
    # Refused by the body limit in front of the routes (before the key is even checked).
    assert declared.status_code == 413 and declared.json()["error"]["code"] == "payload_too_large"
    # Just over the result limit, within the form's allowance: the route itself refuses it.
    over = await http.post(
        f"/api/v1/jobs/{job_id}/finish",
        data={"designer": "小王"},
        files={"result": ("big.png", os.urandom(120_000))},
    )
    assert over.status_code == 413 and over.json()["error"]["code"] == "result_too_large"

    sent = 0

    async def chunked() -> AsyncIterator[bytes]:
        nonlocal sent
        yield '--b\r\nContent-Disposition: form-data; name="designer"\r\n\r\n小王\r\n'.encode()
        yield b'--b\r\nContent-Disposition: form-data; name="result"; filename="big.png"\r\n\r\n'
        for _ in range(100):
            sent += 16_384
            yield b"\x89PNG" + b"\x00" * 16_380
        yield b"\r\n--b--\r\n"

    streamed = await http.post(
        f"/api/v1/jobs/{job_id}/finish",
        content=chunked(),
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    )
    assert streamed.status_code == 413
    assert streamed.json()["error"]["code"] == "payload_too_large"
    assert sent < 100 * 16_384  # refused while reading, before the whole body arrived
    state = await http.get(f"/api/v1/jobs/{job_id}")
    assert state.json()["status"] == "claimed"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
