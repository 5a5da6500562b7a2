"""Signed mtop calls and the image upload of goofish.com (marketplace-notes §1.2, §1.6, §1.7, §1.9).

Every call is ``POST <MTOP_URL><api>/<version>/`` with the signing query and the JSON ``data``
form field. The sign is the lowercase MD5 of ``token&t&appKey&data`` (token = the first
``_m_h5_tk`` up to its ``_``). Responses carry ``ret`` codes:

- ``SUCCESS::…`` — done;
- ``FAIL_SYS_TOKEN_EXOIRED`` (sic) / ``…_EXPIRED`` / ``令牌过期`` / ``TOKEN_EMPTY`` — the response's
  Set-Cookie holds a new ``_m_h5_tk``: merge it and retry **once**;
- ``RGV587`` / ``FAIL_SYS_USER_VALIDATE`` — a slider captcha (risk control): never solved here,
  the account needs a person (:class:`NeedsVerification`);
- ``FAIL_SYS_SESSION_EXPIRED`` / ``Session过期`` — the login is dead (:class:`LoggedOut`).

Set-Cookie of every response is merged into the account's :class:`CookieJar`, and the owner is
told (``on_cookies``) so the renewed cookie is stored encrypted. A risk-control or dead-login
answer on **any** call (token, order or item detail, consign, upload) is also told to the owner
(``on_blocked``) before it is raised: the session then moves the account's state the same way
whichever call met it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar, Final

import httpx

from ai_cs.bridges.xianyu.cookies import CookieJar
from ai_cs.errors import AicsError

log = logging.getLogger(__name__)

MTOP_APP_KEY: Final = "34839810"
IM_APP_KEY: Final = "444e9908a51d1cb236a27862abc769c9"
"""The DingTalk IMPaaS app key of the Goofish web IM (token request and ``/reg``)."""
USER_AGENT: Final = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/133.0.0.0 Safari/537.36"
)
ORIGIN: Final = "https://www.goofish.com"
TIMEOUT_SECONDS: Final = 20.0

API_IM_TOKEN: Final = "mtop.taobao.idlemessage.pc.login.token"
API_ITEM_DETAIL: Final = "mtop.taobao.idle.pc.detail"
API_ORDER_DETAIL: Final = "mtop.idle.web.trade.order.detail"
API_CONSIGN_DUMMY: Final = "mtop.taobao.idle.logistic.consign.dummy"

TOKEN_EXPIRED_MARKERS: Final = (
    "FAIL_SYS_TOKEN_EXOIRED",
    "FAIL_SYS_TOKEN_EXPIRED",
    "FAIL_SYS_TOKEN_EMPTY",
    "TOKEN_EMPTY",
    "令牌过期",
    "令牌为空",
)
VERIFICATION_MARKERS: Final = ("RGV587", "FAIL_SYS_USER_VALIDATE", "被挤爆啦", "punish")
LOGGED_OUT_MARKERS: Final = ("FAIL_SYS_SESSION_EXPIRED", "Session过期", "SESSION_EXPIRED")


class XianyuError(AicsError):
    """A Goofish call failed (the message names the API and the platform's code)."""

    code: ClassVar[str] = "xianyu_failed"
    http_status: ClassVar[int] = 502


class NeedsVerification(XianyuError):
    """Risk control wants a captcha or face check: a person must log in again and paste a cookie."""

    code = "needs_verification"


class LoggedOut(XianyuError):
    """The seller's login expired: a fresh cookie is needed."""

    code = "logged_out"


class TokenExpired(XianyuError):
    """The signing token was still refused after one renewal."""

    code = "token_expired"


def sign(token: str, t: str, data: str, app_key: str = MTOP_APP_KEY) -> str:
    """The mtop sign: lowercase hex MD5 of ``token&t&appKey&data``."""
    digest = hashlib.md5(f"{token}&{t}&{app_key}&{data}".encode(), usedforsecurity=False)
    return digest.hexdigest()


def classify_ret(ret: object) -> type[XianyuError] | None:
    """Which failure an mtop ``ret`` list stands for (``None`` = success)."""
    codes = [str(r) for r in ret] if isinstance(ret, list) else [str(ret)]
    text = " ".join(codes)
    if any("SUCCESS" in c for c in codes):
        return None
    if any(m in text for m in VERIFICATION_MARKERS):
        return NeedsVerification
    if any(m in text for m in LOGGED_OUT_MARKERS):
        return LoggedOut
    if any(m in text for m in TOKEN_EXPIRED_MARKERS):
        return TokenExpired
    return XianyuError


def yuan_to_fen(value: object) -> int | None:
    """``"30.00"`` / ``30`` / ``"¥30.5"`` → 3000 / 3000 / 3050 fen; ``None`` when unreadable."""
    if isinstance(value, bool) or value is None:
        return None
    text = str(value).strip().lstrip("¥￥").strip()
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount < 0:
        return None
    return int((amount * 100).to_integral_value())


@dataclass(frozen=True)
class ImToken:
    """The IM access token of one device id (``/reg`` must use the same device id)."""

    access_token: str
    device_id: str
    expires_epoch: float | None


@dataclass(frozen=True)
class OrderDetail:
    """What the bridge needs of an order: who pays, how much, and its state."""

    order_id: str
    buyer_id: str | None
    amount_fen: int | None
    status: str | None
    item_id: str | None


@dataclass(frozen=True)
class Uploaded:
    """A picture on the marketplace's CDN, ready for an image message."""

    url: str
    width: int | None
    height: int | None


class MtopClient:
    """Signed calls for one account; the cookie jar is updated from every response.

    The endpoint URLs come from settings (``AICS_XIANYU_MTOP_URL`` …): the real ones by default,
    the fake service's in tests — the only difference between the two.
    """

    def __init__(
        self,
        jar: CookieJar,
        http: httpx.AsyncClient,
        *,
        mtop_url: str,
        passport_url: str,
        upload_url: str,
        on_cookies: Callable[[CookieJar], None] | None = None,
        on_blocked: Callable[[XianyuError], None] | None = None,
        now_ms: Callable[[], int] = lambda: int(time.time() * 1000),
    ) -> None:
        self.jar = jar
        self.http = http
        self.mtop_url = mtop_url if mtop_url.endswith("/") else mtop_url + "/"
        self.passport_url = passport_url if passport_url.endswith("/") else passport_url + "/"
        self.upload_url = upload_url
        self.on_cookies = on_cookies
        self.on_blocked = on_blocked
        self.now_ms = now_ms

    # ------------------------------------------------------------------ plumbing
    def _headers(self) -> dict[str, str]:
        return {
            "Cookie": self.jar.header(),
            "Origin": ORIGIN,
            "Referer": ORIGIN + "/",
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
        }

    def _blocked(self, error: XianyuError) -> XianyuError:
        """``error``, after telling the owner when it means the account needs a person."""
        if isinstance(error, NeedsVerification | LoggedOut) and self.on_blocked is not None:
            self.on_blocked(error)
        return error

    def _absorb(self, response: httpx.Response) -> None:
        if self.jar.merge(response.headers.get_list("set-cookie")) and self.on_cookies:
            self.on_cookies(self.jar)

    async def _post(
        self, what: str, url: str, *, timeout: float = TIMEOUT_SECONDS, **request: Any
    ) -> httpx.Response:
        # Every request: our headers, a transport failure as XianyuError naming ``what``, and
        # the cookies the answer sets kept in the jar.
        try:
            response = await self.http.post(
                url, headers=self._headers(), timeout=timeout, **request
            )
        except httpx.HTTPError as exc:
            raise XianyuError(f"{what}: {type(exc).__name__}: {exc}") from exc
        self._absorb(response)
        return response

    async def call(
        self, api: str, data: Mapping[str, Any], *, version: str = "1.0"
    ) -> dict[str, Any]:
        """Call ``api`` and return its ``data``; a stale signing token is renewed once."""
        for attempt in (1, 2):
            body = json.dumps(dict(data), separators=(",", ":"), ensure_ascii=False)
            t = str(self.now_ms())
            params = {
                "jsv": "2.7.2",
                "appKey": MTOP_APP_KEY,
                "t": t,
                "sign": sign(self.jar.sign_token, t, body),
                "v": version,
                "type": "originaljson",
                "accountSite": "xianyu",
                "dataType": "json",
                "timeout": "20000",
                "api": api,
                "sessionOption": "AutoLoginOnly",
                "spm_cnt": "a21ybx.im.0.0",
            }
            response = await self._post(
                api, f"{self.mtop_url}{api}/{version}/", params=params, data={"data": body}
            )
            try:
                payload = response.json()
            except ValueError:
                raise XianyuError(
                    f"{api}: HTTP {response.status_code}, not JSON ({response.text[:80]!r})"
                ) from None
            if not isinstance(payload, dict):
                raise XianyuError(f"{api}: unexpected answer {str(payload)[:80]!r}")
            ret = payload.get("ret", [])
            failure = classify_ret(ret)
            if failure is None:
                result = payload.get("data")
                return result if isinstance(result, dict) else {}
            if failure is TokenExpired and attempt == 1:
                log.info("xianyu: %s said the signing token expired; retrying once", api)
                continue
            raw = payload.get("data")
            url = raw.get("url") if isinstance(raw, dict) else None
            raise self._blocked(
                failure(f"{api}: {' '.join(map(str, ret))[:200]}", api=api, url=url)
            )
        raise TokenExpired(f"{api}: the signing token was refused twice")

    # ------------------------------------------------------------------ calls
    async def im_token(self, device_id: str) -> ImToken:
        """The IM access token for ``device_id`` (the ``did`` that ``/reg`` must send)."""
        data = await self.call(API_IM_TOKEN, {"appKey": IM_APP_KEY, "deviceId": device_id})
        token = data.get("accessToken")
        if not isinstance(token, str) or not token:
            raise XianyuError(f"{API_IM_TOKEN}: no accessToken in the answer")
        expires = data.get("accessTokenExpiredTime")
        expires_epoch: float | None = None
        if isinstance(expires, int | float | str) and str(expires).isdigit():
            value = float(expires)
            expires_epoch = value / 1000.0 if value > 1e11 else value
        return ImToken(access_token=token, device_id=device_id, expires_epoch=expires_epoch)

    async def order_detail(self, order_id: str) -> OrderDetail:
        """Buyer, amount and state of an order (shapes vary: read tolerantly)."""
        data = await self.call(API_ORDER_DETAIL, {"tid": order_id})
        return parse_order_detail(order_id, data)

    async def item_detail(self, item_id: str) -> dict[str, Any]:
        """The listing (``itemDO``: title, desc, soldPrice, skuList prices in fen)."""
        data = await self.call(API_ITEM_DETAIL, {"itemId": item_id})
        item = data.get("itemDO")
        return item if isinstance(item, dict) else {}

    async def consign_dummy(self, order_id: str) -> None:
        """Mark a digital order shipped without logistics (虚拟发货)."""
        await self.call(
            API_CONSIGN_DUMMY,
            {"orderId": order_id, "tradeText": "", "picList": [], "newUnconsign": True},
        )

    async def has_login(self) -> bool:
        """Renew the login session (``hasLogin.do``); True when the platform still knows us."""
        response = await self._post(
            "hasLogin",
            f"{self.passport_url}newlogin/hasLogin.do",
            params={"appName": "xianyu", "fromSite": "77"},
            data={"hid": self.jar.get("unb") or "", "ltl": "true", "appName": "xianyu"},
        )
        try:
            payload = response.json()
        except ValueError:
            return False
        content = payload.get("content") if isinstance(payload, dict) else None
        return isinstance(content, dict) and content.get("success") is True

    async def upload(self, data: bytes, filename: str, content_type: str) -> Uploaded:
        """Upload a picture for a chat message; an HTML answer means the login expired."""
        response = await self._post(
            "upload", self.upload_url, files={"file": (filename, data, content_type)}, timeout=60.0
        )
        if "html" in response.headers.get("content-type", "").lower():
            raise self._blocked(LoggedOut("upload: the platform answered with a login page"))
        try:
            payload = response.json()
        except ValueError:
            raise XianyuError(f"upload: HTTP {response.status_code}, not JSON") from None
        return parse_upload(payload)


def _find(obj: object, keys: tuple[str, ...], depth: int = 0) -> object:
    """The first value under any of ``keys`` in a nested JSON object (breadth by level)."""
    if depth > 6:
        return None
    if isinstance(obj, dict):
        for key in keys:
            if key in obj and obj[key] not in (None, ""):
                return obj[key]
        children: list[object] = list(obj.values())
    elif isinstance(obj, list):
        children = list(obj)
    else:
        return None
    for child in children:
        found = _find(child, keys, depth + 1)
        if found is not None:
            return found
    return None


def parse_order_detail(order_id: str, data: Mapping[str, Any]) -> OrderDetail:
    """Read an order detail answer whatever its nesting (the live shape is not documented)."""
    buyer = _find(data, ("buyerId", "buyerUserId", "buyer_id"))
    fen = _find(data, ("payAmountFen", "totalFeeFen", "actualFeeFen"))
    amount = int(fen) if isinstance(fen, int) and not isinstance(fen, bool) else None
    if amount is None:
        amount = yuan_to_fen(_find(data, ("payAmount", "actualFee", "totalFee", "price")))
    status = _find(data, ("status", "orderStatus", "tradeStatus"))
    item = _find(data, ("itemId", "item_id"))
    return OrderDetail(
        order_id=order_id,
        buyer_id=str(buyer) if buyer is not None else None,
        amount_fen=amount,
        status=str(status) if status is not None else None,
        item_id=str(item) if item is not None else None,
    )


def parse_upload(payload: object) -> Uploaded:
    """``object.url`` + ``object.pix`` "WxH" (or ``data.url`` / ``url`` / ``result.url``)."""
    if not isinstance(payload, dict):
        raise XianyuError("upload: unexpected answer")
    url: object = None
    pix: object = None
    for key in ("object", "data", "result"):
        part = payload.get(key)
        if isinstance(part, dict) and part.get("url"):
            url, pix = part.get("url"), part.get("pix")
            break
    url = url or payload.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise XianyuError(f"upload: no picture URL in the answer ({str(payload)[:120]!r})")
    width = height = None
    if isinstance(pix, str) and "x" in pix:
        w, _, h = pix.partition("x")
        if w.isdigit() and h.isdigit():
            width, height = int(w), int(h)
    return Uploaded(url=url, width=width, height=height)
