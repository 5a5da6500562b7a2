"""A fake Goofish service: mtop over HTTP, image upload, and the IM websocket (tests, development).

Written from ``shared/marketplace-notes.md``, not from any live capture, it checks what the
notes say the real service checks and plays the marketplace's side:

- **mtop** (``POST /h5/<api>/<version>/``): the sign must be the MD5 of ``token&t&appKey&data``
  with the account's current ``_m_h5_tk``; a stale token is answered ``令牌过期`` with a new
  ``_m_h5_tk`` in Set-Cookie; an account under risk control answers ``RGV587`` and a dead login
  ``Session过期``. The IM token remembers the device id it was issued for.
- **websocket** (``/ws``): ``/reg`` fails unless ``did`` is the token's device id; heartbeats
  and ``ackDiff`` are answered on their mid; every push is recorded with the acks it got; a send
  is answered with a new message id and echoed back to the seller's socket as the platform does
  (before or after the answer, as configured).
- **upload** (``POST /upload``) stores the picture and serves it from ``/img/<name>``, where
  buyers' pictures are served too.

Buyers act through :meth:`FakeGoofish.say`, :meth:`send_picture`, :meth:`pay` and friends; every
message goes out as base64 MessagePack with integer keys, the way the notes describe pushes.
``aics xianyu-sim`` runs it as a development server with a few control routes (``/_sim/…``).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import io
import itertools
import json
import logging
import secrets
import socket
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final, Self
from urllib.parse import parse_qs, quote

import uvicorn
from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from ai_cs.bridges.xianyu import frames as fr
from ai_cs.bridges.xianyu.cookies import CookieError, CookieJar
from ai_cs.bridges.xianyu.mtop import (
    API_CONSIGN_DUMMY,
    API_IM_TOKEN,
    API_ITEM_DETAIL,
    API_ORDER_DETAIL,
    IM_APP_KEY,
    MTOP_APP_KEY,
    sign,
)
from ai_cs.marketplace.loopback import Changes, LoopbackServer

log = logging.getLogger(__name__)

SUCCESS: Final = ["SUCCESS::调用成功"]
TOKEN_EXPIRED: Final = ["FAIL_SYS_TOKEN_EXOIRED::令牌过期"]
RISK: Final = ["FAIL_SYS_USER_VALIDATE", "RGV587_ERROR::SM::哎哟喂,被挤爆啦,请稍后重试"]
SESSION_EXPIRED: Final = ["FAIL_SYS_SESSION_EXPIRED::Session过期"]


def _mtop_response(api: str, ret: list[str], data: dict[str, Any] | None = None) -> JSONResponse:
    """An mtop answer: the api, its ``ret`` codes and its data (HTTP 200 whatever ``ret`` says)."""
    return JSONResponse({"api": api, "ret": ret, "data": data or {}})


def new_sign_token() -> str:
    """A fresh ``_m_h5_tk`` value: 32 hex characters, ``_``, a millisecond time."""
    return f"{secrets.token_hex(16)}_{fr.now_ms()}"


# --- decoded message shapes (string keys, as fixtures hold them) -------------------------------
def chat_map(
    *,
    cid: str,
    sender: str,
    message_id: str,
    content: dict[str, Any],
    nick: str = "买家",
    reminder: str = "",
    peer: str | None = None,
    item_id: str = "700000001",
    ext_json: dict[str, Any] | None = None,
    summary: str = "",
    at_ms: int | None = None,
) -> dict[str, Any]:
    """A decoded chat message as a push carries it (``m.1`` map, ``m.3.needPush``)."""
    url = (
        f"fleamarket://message_chat?itemId={item_id}&peerUserId={peer or sender}"
        f"&peerUserNick={nick}&sid={cid}&messageId={secrets.token_hex(8)}"
    )
    return {
        "1": {
            "1": {"1": f"{sender}@goofish"},
            "2": f"{cid}@goofish",
            "3": message_id,
            "4": 0,
            "5": at_ms or fr.now_ms(),
            "6": {
                "1": 101,
                "3": {
                    "2": summary,
                    "4": content.get("contentType"),
                    "5": json.dumps(content, ensure_ascii=False),
                },
            },
            "10": {
                "senderUserId": sender,
                "reminderTitle": nick,
                "reminderContent": reminder,
                "reminderUrl": url,
                "sessionType": "1",
                "extJson": json.dumps(ext_json or {}, ensure_ascii=False),
                "bizTag": json.dumps({"messageId": secrets.token_hex(8)}),
            },
        },
        "3": {"needPush": "true"},
    }


def order_card_map(
    *,
    cid: str,
    buyer: str,
    message_id: str,
    order_id: str,
    text: str = "[我已付款，等待你发货]",
    status_tag: str = "TRADE_PAID_DONE_SELLER",
) -> dict[str, Any]:
    """A decoded trade card (content type 26) with its ``updateKey``."""
    content = {
        "contentType": 26,
        "dxCard": {
            "item": {
                "main": {
                    "exContent": {"title": text},
                    "targetUrl": f"fleamarket://order_detail?id={order_id}&role=seller",
                }
            }
        },
    }
    return chat_map(
        cid=cid,
        sender=buyer,
        message_id=message_id,
        content=content,
        reminder=text,
        summary="[卡片消息]",
        ext_json={
            "updateKey": f"{cid}:{order_id}:1:{status_tag}:26",
            "msgArg1": "MsgCard",
            "contentType": 26,
        },
    )


def typing_map(cid: str, sender: str) -> dict[str, Any]:
    """A typing indicator (``m.1`` is a list)."""
    return {"1": [{"1": f"{sender}@goofish", "2": f"{cid}@goofish"}], "2": 1}


def system_tip_map(cid: str, message_id: str) -> dict[str, Any]:
    """A platform tip in a chat (sender 1400, ``MsgTips``)."""
    content = {"contentType": 14, "tip": {"text": "交易提醒：请在平台内完成交易"}}
    item = chat_map(
        cid=cid,
        sender="1400",
        message_id=message_id,
        content=content,
        reminder="交易提醒",
        nick="闲鱼",
    )
    item["1"]["10"]["msgArg1"] = "MsgTips"
    return item


# --- records ------------------------------------------------------------------------------------
@dataclass
class SentByShop:
    """A message the seller's side sent through the websocket (a bridge send)."""

    message_id: str
    conversation_id: str
    to: str
    content: dict[str, Any]

    @property
    def text(self) -> str:
        """The text of a text message ("" for pictures)."""
        value = self.content.get("text", {})
        return str(value.get("text", "")) if isinstance(value, dict) else ""

    @property
    def pictures(self) -> list[dict[str, Any]]:
        """The pictures of an image message."""
        pics = self.content.get("image", {}).get("pics", [])
        return list(pics) if isinstance(pics, list) else []


@dataclass
class FakeAccount:
    """A seller account of the fake marketplace."""

    user_id: str
    nick: str
    sign_token: str = field(default_factory=new_sign_token)
    cookie2: str = field(default_factory=lambda: secrets.token_hex(16))
    tokens: dict[str, str] = field(default_factory=dict)
    """IM access token → the device id it was issued for."""
    risk: str = ""
    """"" (fine), "verify" (RGV587 on every call) or "logged_out" (Session过期)."""
    expire_sign_token_once: bool = False
    mute_heartbeats: bool = False
    echo_before_reply: bool = False
    refuse_reg: bool = False
    """Answer every ``/reg`` 401 (as for a token the IM service does not accept)."""
    refuse_connections: bool = False
    """Close every new websocket at once (the IM service unreachable for this account)."""
    token_calls: list[dict[str, Any]] = field(default_factory=list)
    mtop_calls: list[str] = field(default_factory=list)
    regs: list[tuple[str, bool]] = field(default_factory=list)
    reg_times: list[float] = field(default_factory=list)
    """When each ``/reg`` came (monotonic seconds): the pacing of logins."""
    syncs: int = 0
    heartbeats: int = 0
    connections: int = 0
    pushes: list[str] = field(default_factory=list)
    acks: Counter[str] = field(default_factory=Counter)
    sent: list[SentByShop] = field(default_factory=list)
    consigned: list[str] = field(default_factory=list)

    def cookie(self) -> str:
        """The cookie a seller would paste (a stale duplicate ``_m_h5_tk`` after the real one)."""
        return (
            f"cna=fake{self.user_id}; unb={self.user_id}; cookie2={self.cookie2}; "
            f"_m_h5_tk={self.sign_token}; _m_h5_tk_enc={secrets.token_hex(8)}; "
            f"tracknick={quote(self.nick)}; _m_h5_tk=stale_{fr.now_ms()}"
        )


@dataclass
class FakeOrder:
    """An order of the fake marketplace."""

    order_id: str
    buyer_id: str
    seller_id: str
    amount_fen: int
    status: str = "WAIT_SELLER_SEND_GOODS"


class FakeGoofish(LoopbackServer):
    """The fake service; ``async with FakeGoofish() as fake`` listens on a free loopback port."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host=host, port=port)
        self.accounts: dict[str, FakeAccount] = {}
        self.orders: dict[str, FakeOrder] = {}
        self.images: dict[str, tuple[bytes, str]] = {}
        self._sockets: dict[str, WebSocket] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._registered: dict[str, asyncio.Event] = {}
        self._ids = itertools.count(1)
        self._changes = Changes()
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None
        self.unknown_frames: list[str] = []
        self.app = Starlette(
            routes=[
                Route("/h5/{api}/{version}/", self._mtop, methods=["POST"]),
                Route("/passport/newlogin/hasLogin.do", self._has_login, methods=["POST"]),
                Route("/upload", self._upload, methods=["POST"]),
                Route("/img/{name}", self._image, methods=["GET"]),
                Route("/_sim/say", self._control_say, methods=["POST"]),
                Route("/_sim/state", self._control_state, methods=["GET"]),
                WebSocketRoute("/ws", self._websocket),
            ]
        )

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> Self:
        """Listen (port 0 picks a free one) and serve in this event loop."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = int(sock.getsockname()[1])
        config = uvicorn.Config(
            self.app,
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
            ws="websockets-sansio",
            ws_ping_interval=None,
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.01)
        return self

    async def stop(self) -> None:
        """Close every socket and stop listening."""
        for user_id in list(self._sockets):
            await self.drop(user_id)
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await asyncio.gather(self._task, return_exceptions=True)

    @property
    def base(self) -> str:
        """HTTP base URL."""
        return f"http://{self.host}:{self.port}"

    def env(self) -> dict[str, str]:
        """The ``AICS_XIANYU_*`` endpoint settings that point ai-cs here."""
        return {
            "AICS_XIANYU_WS_URL": f"ws://{self.host}:{self.port}/ws",
            "AICS_XIANYU_MTOP_URL": f"{self.base}/h5/",
            "AICS_XIANYU_PASSPORT_URL": f"{self.base}/passport/",
            "AICS_XIANYU_UPLOAD_URL": f"{self.base}/upload?floderId=0&appkey=xy_chat",
        }

    # ------------------------------------------------------------------ accounts and buyers
    def add_account(self, user_id: str, nick: str = "修图小店") -> FakeAccount:
        """A seller account; its :meth:`FakeAccount.cookie` is what the shop pastes."""
        account = FakeAccount(user_id=user_id, nick=nick)
        self.accounts[user_id] = account
        self._registered[user_id] = asyncio.Event()
        self._locks[user_id] = asyncio.Lock()
        return account

    def add_picture(self, name: str, data: bytes, content_type: str = "image/png") -> str:
        """Serve a picture (a buyer's, or any) at ``/img/<name>``; returns its URL."""
        self.images[name] = (data, content_type)
        return f"{self.base}/img/{name}"

    def new_message_id(self) -> str:
        """A fresh IM message id (``….PNM``)."""
        return f"{3_600_000_000_000 + next(self._ids)}.PNM"

    def add_order(self, order_id: str, *, buyer: str, seller: str, amount_fen: int) -> FakeOrder:
        """An order the buyer placed with the seller (answered by order detail)."""
        order = FakeOrder(order_id, buyer, seller, amount_fen)
        self.orders[order_id] = order
        return order

    # ------------------------------------------------------------------ pushes
    async def push(
        self, user_id: str, entries: list[dict[str, Any] | str], *, lwp: str = "/s/sync"
    ) -> str:
        """Push ``entries`` (decoded maps are MessagePack-encoded) in one frame; returns its mid.

        Waits for the account to be registered first: the platform pushes only to a live,
        registered connection.
        """
        await asyncio.wait_for(self._registered[user_id].wait(), timeout=30)
        encoded = [e if isinstance(e, str) else fr.encode_entry(e) for e in entries]
        mid = fr.new_mid()
        frame = fr.sync_push(encoded, mid, lwp=lwp)
        await self._send(user_id, frame)
        self.accounts[user_id].pushes.append(mid)
        return mid

    async def say(self, user_id: str, buyer: str, cid: str, text: str, **kw: Any) -> str:
        """The buyer writes ``text`` in chat ``cid``; returns the message id."""
        message_id = kw.pop("message_id", None) or self.new_message_id()
        entry = chat_map(
            cid=cid,
            sender=buyer,
            message_id=message_id,
            content=fr.content_text(text),
            reminder=text,
            **kw,
        )
        await self.push(user_id, [entry])
        return message_id

    def picture_entry(
        self, buyer: str, cid: str, url: str, width: int, height: int
    ) -> tuple[str, dict[str, Any]]:
        """A buyer's picture message (id, decoded map), to push alone or with others."""
        message_id = self.new_message_id()
        return message_id, chat_map(
            cid=cid,
            sender=buyer,
            message_id=message_id,
            content=fr.content_image(url, width, height),
            reminder="[图片]",
        )

    async def send_picture(
        self, user_id: str, buyer: str, cid: str, url: str, width: int, height: int
    ) -> str:
        """The buyer sends a picture; returns the message id."""
        message_id, entry = self.picture_entry(buyer, cid, url, width, height)
        await self.push(user_id, [entry])
        return message_id

    async def pay(self, user_id: str, buyer: str, cid: str, order_id: str) -> str:
        """The buyer pays ``order_id``: the payment card arrives in the chat."""
        message_id = self.new_message_id()
        card = order_card_map(cid=cid, buyer=buyer, message_id=message_id, order_id=order_id)
        await self.push(user_id, [card])
        return message_id

    async def seller_types(self, user_id: str, buyer: str, cid: str, text: str) -> str:
        """A person on the shop's side writes from the phone app (comes back as an own message)."""
        message_id = self.new_message_id()
        account = self.accounts[user_id]
        entry = self._own_message(account, cid, buyer, message_id, fr.content_text(text))
        await self.push(user_id, [entry])
        return message_id

    @staticmethod
    def _own_message(
        account: FakeAccount, cid: str, buyer: str, message_id: str, content: dict[str, Any]
    ) -> dict[str, Any]:
        """A message from the seller's side as the platform echoes it to the seller's socket."""
        entry = chat_map(
            cid=cid,
            sender=account.user_id,
            message_id=message_id,
            content=content,
            reminder=str(content.get("text", {}).get("text", "[图片]")),
            nick=account.nick,
            peer=buyer,
        )
        entry["3"]["needPush"] = "false"
        return entry

    async def kickout(self, user_id: str) -> None:
        """``/push/kickout``: the platform ends this login's connection."""
        await self._send(user_id, {"lwp": "/push/kickout", "headers": {"mid": fr.new_mid()}})

    async def drop(self, user_id: str) -> None:
        """Close the account's socket (a dropped connection)."""
        ws = self._sockets.pop(user_id, None)
        self._registered[user_id].clear()
        if ws is not None:
            with contextlib.suppress(RuntimeError, OSError, WebSocketDisconnect):
                await ws.close(code=1011)

    async def _send(self, user_id: str, frame: dict[str, Any]) -> None:
        ws = self._sockets.get(user_id)
        if ws is None:
            raise RuntimeError(f"account {user_id} is not connected")
        async with self._locks[user_id]:
            await ws.send_text(fr.dumps(frame))

    # ------------------------------------------------------------------ waiting (tests)
    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 15.0) -> bool:
        """Wait until ``predicate()`` holds (checked on every change and every 50 ms)."""
        return await self._changes.until(predicate, timeout)

    async def wait_registered(self, user_id: str, timeout: float = 15.0) -> bool:
        """Wait until the account has a registered connection."""
        try:
            await asyncio.wait_for(self._registered[user_id].wait(), timeout)
        except TimeoutError:
            return False
        return True

    def sent_to(self, user_id: str, cid: str) -> list[SentByShop]:
        """What the shop sent in chat ``cid``, in order."""
        return [s for s in self.accounts[user_id].sent if s.conversation_id == cid]

    # ------------------------------------------------------------------ HTTP: mtop
    def _account_of(self, request: Request) -> tuple[FakeAccount | None, CookieJar | None]:
        try:
            jar = CookieJar.parse(request.headers.get("cookie", ""))
        except CookieError:
            return None, None
        return self.accounts.get(jar.user_id), jar

    async def _mtop(self, request: Request) -> Response:
        api = request.path_params["api"]
        account, jar = self._account_of(request)
        if account is None or jar is None:
            return _mtop_response(api, SESSION_EXPIRED)
        async with request.form() as form:
            data = str(form.get("data", ""))
        query = request.query_params
        account.mtop_calls.append(api)
        if account.risk == "verify":
            url = f"{self.base}/_____tmd_____/punish?x5secdata=abc&action=captcha"
            return _mtop_response(api, RISK, {"url": url})
        if account.risk == "logged_out":
            return _mtop_response(api, SESSION_EXPIRED)
        expected = sign(account.sign_token.split("_", 1)[0], query.get("t", ""), data)
        sign_ok = query.get("sign") == expected and query.get("appKey") == MTOP_APP_KEY
        if account.expire_sign_token_once or jar.sign_token != account.sign_token.split("_")[0]:
            account.expire_sign_token_once = False
            account.sign_token = new_sign_token()
            if api == API_IM_TOKEN:
                account.token_calls.append({"sign_ok": sign_ok, "expired": True})
            response = _mtop_response(api, TOKEN_EXPIRED)
            response.set_cookie("_m_h5_tk", account.sign_token, path="/")
            response.set_cookie("_m_h5_tk_enc", secrets.token_hex(16), path="/")
            return response
        if not sign_ok:
            return _mtop_response(api, ["FAIL_SYS_ILLEGAL_SIGN::非法签名"])
        try:
            payload = json.loads(data)
        except ValueError:
            return _mtop_response(api, ["FAIL_SYS_PARAMINVALID_ERROR"])
        result = self._mtop_answer(account, api, payload)
        await self._changes.notify()
        if result is None:
            return _mtop_response(api, ["FAIL_BIZ_NOT_FOUND::不存在"])
        return _mtop_response(api, SUCCESS, result)

    def _mtop_answer(
        self, account: FakeAccount, api: str, payload: dict[str, Any]
    ) -> dict[str, Any] | None:
        if api == API_IM_TOKEN:
            device_id = str(payload.get("deviceId", ""))
            ok = payload.get("appKey") == IM_APP_KEY and device_id.endswith(f"-{account.user_id}")
            account.token_calls.append({"sign_ok": True, "expired": False, "device_id": device_id})
            if not ok:
                return None
            token = secrets.token_urlsafe(24)
            account.tokens[token] = device_id
            return {"accessToken": token, "accessTokenExpiredTime": fr.now_ms() + 3_600_000}
        if api == API_ORDER_DETAIL:
            order = self.orders.get(str(payload.get("tid", "")))
            if order is None or order.seller_id != account.user_id:
                return None
            return {
                "orderId": order.order_id,
                "status": order.status,
                "buyer": {"buyerId": order.buyer_id},
                "priceInfo": {"payAmount": f"{order.amount_fen / 100:.2f}"},
            }
        if api == API_ITEM_DETAIL:
            return {
                "itemDO": {"itemId": payload.get("itemId"), "title": "专业修图", "soldPrice": "30"}
            }
        if api == API_CONSIGN_DUMMY:
            order = self.orders.get(str(payload.get("orderId", "")))
            if order is None or order.seller_id != account.user_id:
                return None
            order.status = "WAIT_BUYER_CONFIRM_GOODS"
            account.consigned.append(order.order_id)
            return {"success": True}
        return {}

    async def _has_login(self, request: Request) -> Response:
        account, _ = self._account_of(request)
        ok = account is not None and account.risk == ""
        response = JSONResponse({"content": {"success": ok}})
        if ok and account is not None:
            response.set_cookie("cookie2", account.cookie2, path="/")
        return response

    # ------------------------------------------------------------------ HTTP: upload and images
    async def _upload(self, request: Request) -> Response:
        account, _ = self._account_of(request)
        if account is None or account.risk:
            return Response("<html><body>login</body></html>", media_type="text/html")
        async with request.form() as form:
            upload = form.get("file")
            if upload is None or isinstance(upload, str):
                return JSONResponse({"success": False, "message": "no file"})
            data = await upload.read()
        try:
            with Image.open(io.BytesIO(data)) as img:
                width, height = img.size
                kind = (img.format or "png").lower()
        except OSError:
            return JSONResponse({"success": False, "message": "not a picture"})
        name = f"up-{hashlib.sha256(data).hexdigest()[:16]}.{kind}"
        self.images[name] = (data, f"image/{kind}")
        await self._changes.notify()
        return JSONResponse(
            {
                "success": True,
                "object": {"url": f"{self.base}/img/{name}", "pix": f"{width}x{height}"},
            }
        )

    async def _image(self, request: Request) -> Response:
        found = self.images.get(request.path_params["name"])
        if found is None:
            return Response("no such picture", status_code=404)
        data, content_type = found
        return Response(data, media_type=content_type)

    # ------------------------------------------------------------------ HTTP: control (dev tool)
    async def _control_say(self, request: Request) -> Response:
        query = parse_qs(request.url.query)
        body = (
            await request.json()
            if request.headers.get("content-type") == "application/json"
            else {}
        )

        def value(key: str) -> str:
            return str(body.get(key) or (query.get(key) or [""])[0])

        account, buyer, cid, text = value("account"), value("buyer"), value("cid"), value("text")
        if account not in self.accounts or not buyer or not text:
            return JSONResponse({"error": "account, buyer and text are needed"}, status_code=422)
        if not self._registered[account].is_set():
            return JSONResponse({"error": f"account {account} is not connected"}, status_code=409)
        message_id = await self.say(account, buyer, cid or f"cid-{buyer}", text)
        return JSONResponse({"message_id": message_id})

    async def _control_state(self, _request: Request) -> Response:
        return JSONResponse(
            {
                uid: {
                    "connected": uid in self._sockets,
                    "heartbeats": a.heartbeats,
                    "pushes": len(a.pushes),
                    "acks": sum(a.acks.values()),
                    "sent": [{"cid": s.conversation_id, "text": s.text} for s in a.sent],
                }
                for uid, a in self.accounts.items()
            }
        )

    # ------------------------------------------------------------------ websocket
    async def _websocket(self, ws: WebSocket) -> None:
        try:
            jar = CookieJar.parse(ws.headers.get("cookie", ""))
        except CookieError:
            await ws.close(code=4001)
            return
        account = self.accounts.get(jar.user_id)
        if account is None or account.refuse_connections:
            await ws.close(code=4001)
            return
        await ws.accept()
        previous = self._sockets.get(account.user_id)
        if previous is not None:
            # A second connection of the same login kicks the first (notes §1.3).
            with contextlib.suppress(RuntimeError, OSError):
                await previous.send_text(fr.dumps({"lwp": "/s/session/remove", "headers": {}}))
        self._sockets[account.user_id] = ws
        account.connections += 1
        try:
            while True:
                text = await ws.receive_text()
                await self._frame(account, ws, text)
                await self._changes.notify()
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            if self._sockets.get(account.user_id) is ws:
                del self._sockets[account.user_id]
                self._registered[account.user_id].clear()
            await self._changes.notify()

    async def _reply(
        self, account: FakeAccount, mid: str, code: int = 200, body: Any = None
    ) -> None:
        frame: dict[str, Any] = {"code": code, "headers": {"mid": mid}}
        if body is not None:
            frame["body"] = body
        await self._send(account.user_id, frame)

    async def _frame(self, account: FakeAccount, ws: WebSocket, text: str) -> None:
        incoming = fr.parse_incoming(text)
        if incoming is None:
            self.unknown_frames.append(text)
            return
        mid = incoming.mid or ""
        if incoming.lwp is None:
            if incoming.code == 200 and mid:
                account.acks[mid] += 1
            else:
                self.unknown_frames.append(text)
            return
        if self._sockets.get(account.user_id) is not ws:
            return
        if incoming.lwp == fr.REG_PATH:
            token = str(incoming.headers.get("token", ""))
            did = str(incoming.headers.get("did", ""))
            ok = account.tokens.get(token) == did and not account.risk and not account.refuse_reg
            account.regs.append((did, ok))
            account.reg_times.append(time.monotonic())
            if not ok:
                await self._reply(account, mid, 401, {"reason": "device id or appkey is not equal"})
                return
            await self._reply(account, mid)
            self._registered[account.user_id].set()
            vulcan = {"lwp": "/s/vulcan", "headers": {"mid": fr.new_mid(), "sid": "vulcan"}}
            await self._send(account.user_id, vulcan)
        elif incoming.lwp == fr.ACK_DIFF_PATH:
            account.syncs += 1
            await self._reply(account, mid)
        elif incoming.lwp == fr.HEARTBEAT_PATH:
            account.heartbeats += 1
            if not account.mute_heartbeats:
                await self._reply(account, mid)
        elif incoming.lwp == fr.SEND_PATH:
            await self._shop_sends(account, mid, incoming.body)
        else:
            await self._reply(account, mid)

    async def _shop_sends(self, account: FakeAccount, mid: str, body: Any) -> None:
        try:
            message, receivers = body[0], body[1]["actualReceivers"]
            inner = json.loads(base64.b64decode(message["content"]["custom"]["data"]).decode())
        except (KeyError, IndexError, TypeError, ValueError):
            await self._reply(account, mid, 400, {"reason": "bad send"})
            return
        cid = fr.bare(message.get("cid"))
        buyer = next((fr.bare(r) for r in receivers if fr.bare(r) != account.user_id), "")
        message_id = self.new_message_id()
        account.sent.append(SentByShop(message_id, cid, buyer, inner))
        echo = self._own_message(account, cid, buyer, message_id, inner)
        if account.echo_before_reply:
            await self.push(account.user_id, [echo])
            await self._reply(account, mid, 200, {"messageId": message_id})
        else:
            await self._reply(account, mid, 200, {"messageId": message_id})
            await self.push(account.user_id, [echo])
