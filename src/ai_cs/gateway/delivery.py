"""Result delivery (交付): a finished task's result goes to the customer, once per result.

When a task reaches ``awaiting_confirm`` the delivery loop gives it an unguessable link
(``secrets.token_urlsafe(24)``; only its SHA-256 is stored, with an expiry), renders a
watermarked preview for raster results, and queues the messages — the preview picture and a text
with the link and the prompt to confirm — in the gateway outbox, in the same transaction as the
delivery row. The row is unique per ``(task_id, result_image)``, so every result is announced
exactly once however many loops run; a designer's new result after a revision is a new result
and is announced again.

Files are served by :mod:`ai_cs.gateway.routes` (``GET /r/{token}`` and ``/r/{token}/preview``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
import os
import re
import secrets
import tempfile
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass
from datetime import timedelta
from pathlib import Path
from typing import Final

from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import and_, exists, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ai_cs import datafiles
from ai_cs.clock import Clock, iso
from ai_cs.config import Settings
from ai_cs.conversations import service as conversations
from ai_cs.conversations.contracts import Attachment, OutboundMessage
from ai_cs.conversations.models import Conversation
from ai_cs.core import wording
from ai_cs.core.tasks import TaskStatus
from ai_cs.db.database import Database, dialect_insert
from ai_cs.errors import AicsError, NotFound
from ai_cs.marketplace import service as gw
from ai_cs.marketplace.models import ResultDelivery as DeliveryRow
from ai_cs.processing.storage import LocalStorage
from ai_cs.tasks.models import ImageTask

log = logging.getLogger(__name__)

LINK_DAYS: Final = 30
"""How long a result link works."""
POLL_SECONDS: Final = 2.0
PREVIEW_MAX_SIDE: Final = 1024
WATERMARK_TEXT: Final = "PREVIEW"
RASTER_EXTENSIONS: Final = frozenset({"png", "jpg", "jpeg", "webp"})
MEDIA_TYPES: Final = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "svg": "image/svg+xml",
    "psd": "image/vnd.adobe.photoshop",
    "pdf": "application/pdf",
    "eps": "application/postscript",
    "zip": "application/zip",
}
TOKEN_PATTERN: Final = re.compile(r"^[A-Za-z0-9_-]{32}$")
"""``secrets.token_urlsafe(24)`` is 32 URL-safe characters."""


class LinkExpired(AicsError):
    """The result link is past its expiry."""

    code = "link_expired"
    http_status = 410


def new_token() -> str:
    """A fresh unguessable link token."""
    return secrets.token_urlsafe(24)


def token_hash(token: str) -> str:
    """What is stored instead of the token (a database leak does not leak the links)."""
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def public_base_url(settings: Settings) -> str:
    """Where customers reach the API (``AICS_PUBLIC_BASE_URL`` or ``http://host:api_port``)."""
    return settings.api_base_url


def extension_of(key: str) -> str:
    """The file extension of a stored result, lower case without the dot."""
    return Path(key).suffix.lstrip(".").lower()


def has_preview(key: str) -> bool:
    """Raster results get a watermarked preview; SVG and PSD are sent as the link only."""
    return extension_of(key) in RASTER_EXTENSIONS


def result_path(settings: Settings, key: str) -> Path:
    """The local file of a stored result (validated by the storage; NotFound otherwise).

    ``result_image`` is a storage key (``results/ab/<sha256>.png``, the worker) or a path to the
    same place (a designer's result stored by the dispatch callback); either way it must name a
    file under ``DATA_DIR/results``.
    """
    stored = datafiles.key_of(key)
    if stored is None:
        raise NotFound(f"no stored result {key!r}")
    return LocalStorage(settings.data_dir).path(stored)


# --- previews -------------------------------------------------------------------------------------
def _checkerboard(size: tuple[int, int], cell: int = 16) -> Image.Image:
    board = Image.new("RGB", size, (255, 255, 255))
    draw = ImageDraw.Draw(board)
    for y in range(0, size[1], cell):
        for x in range((y // cell) % 2 * cell, size[0], cell * 2):
            draw.rectangle((x, y, x + cell - 1, y + cell - 1), fill=(222, 222, 222))
    return board


def render_preview(source: Path) -> Image.Image:
    """A smaller copy with a tiled diagonal watermark; transparency shown on a checkerboard."""
    with Image.open(source) as img:
        # Shrink first (JPEG decodes at reduced size): a 100 MP result never sits in memory
        # whole. Palette pictures are converted first so they are not resized pixel by pixel.
        picture = img.convert("RGBA") if img.mode in ("P", "1", "I", "F") else img
        picture.thumbnail((PREVIEW_MAX_SIDE, PREVIEW_MAX_SIDE))
        picture = picture.convert("RGBA")
    base = _checkerboard(picture.size).convert("RGBA")
    base.alpha_composite(picture)
    side = max(base.size)
    font = ImageFont.load_default(size=max(14, side // 12))
    layer = Image.new("RGBA", (side * 2, side * 2), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    step_x, step_y = max(60, side // 2), max(40, side // 5)
    for row, y in enumerate(range(0, side * 2, step_y)):
        for x in range(-(row % 2) * step_x // 2, side * 2, step_x):
            draw.text((x, y), WATERMARK_TEXT, font=font, fill=(255, 255, 255, 140))
            draw.text((x + 2, y + 2), WATERMARK_TEXT, font=font, fill=(0, 0, 0, 90))
    layer = layer.rotate(30, resample=Image.Resampling.BICUBIC)
    left = (layer.width - base.width) // 2
    top = (layer.height - base.height) // 2
    base.alpha_composite(layer.crop((left, top, left + base.width, top + base.height)))
    return base.convert("RGB")


def preview_file(settings: Settings, key: str) -> Path:
    """The watermarked preview PNG of a raster result, rendered once and kept beside results."""
    if not has_preview(key):
        raise NotFound(f"result {key!r} has no preview")
    source = result_path(settings, key)
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
    target = settings.data_dir / "previews" / digest[:2] / f"{digest}.png"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        preview = render_preview(source)
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise NotFound(f"no preview can be made of result {key!r}") from exc
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".png")
    try:
        with os.fdopen(fd, "wb") as fh:
            preview.save(fh, format="PNG", optimize=True)
        os.replace(tmp, target)
    except OSError:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


# --- delivering -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Deliverable:
    """A task whose result has not been announced yet."""

    task_id: str
    result_image: str
    customer_id: str
    account_id: str
    conversation_id: str


def undelivered(session: Session, *, limit: int = 50) -> list[Deliverable]:
    """``awaiting_confirm`` tasks from a chat whose current result was never announced."""
    announced = exists().where(
        and_(
            DeliveryRow.task_id == ImageTask.task_id,
            DeliveryRow.result_image == ImageTask.result_image,
        )
    )
    rows = session.execute(
        select(
            ImageTask.task_id,
            ImageTask.result_image,
            ImageTask.customer_id,
            ImageTask.acc_id,
            ImageTask.conversation_id,
        )
        .where(
            ImageTask.status == TaskStatus.AWAITING_CONFIRM.value,
            ImageTask.result_image.is_not(None),
            ImageTask.customer_id.is_not(None),
            ImageTask.acc_id.is_not(None),
            ImageTask.conversation_id.is_not(None),
            ~announced,
        )
        .order_by(ImageTask.updated_at, ImageTask.task_id)
        .limit(limit)
    ).all()
    return [Deliverable(*(str(v) for v in row)) for row in rows]


def record_link(
    session: Session,
    clock: Clock,
    settings: Settings,
    item: Deliverable,
    *,
    has_preview: bool = False,
) -> tuple[str, str] | None:
    """Record the delivery of one result; returns its link token and the customer's URL.

    ``None`` when that result was already delivered (by another loop, or before a restart):
    each result is announced once.
    """
    token = new_token()
    now = clock.now()
    expires = now + timedelta(days=LINK_DAYS)
    row_id = session.execute(
        dialect_insert(session, DeliveryRow)
        .values(
            token_hash=token_hash(token),
            task_id=item.task_id,
            result_image=item.result_image,
            customer_id=item.customer_id,
            account_id=item.account_id,
            conversation_id=item.conversation_id,
            has_preview=1 if has_preview else 0,
            created_at=iso(now),
            expires_at=iso(expires),
            expires_epoch=clock.epoch() + LINK_DAYS * 86400.0,
        )
        .on_conflict_do_nothing(index_elements=["task_id", "result_image"])
        .returning(DeliveryRow.id)
    ).scalar_one_or_none()
    if row_id is None:
        return None
    return token, f"{public_base_url(settings)}/r/{token}"


def announce(
    session: Session,
    clock: Clock,
    settings: Settings,
    item: Deliverable,
    *,
    preview_size: tuple[int, int] | None,
) -> str | None:
    """Record the delivery and queue its messages; returns the link token.

    ``None`` when the result was already announced (by another loop, or before a restart).
    """
    recorded = record_link(session, clock, settings, item, has_preview=preview_size is not None)
    if recorded is None:
        return None
    token, link = recorded
    ids = gw.short_digest(item.task_id, item.result_image)
    messages: list[tuple[str, OutboundMessage]] = []
    if preview_size is not None:
        width, height = preview_size
        preview = Attachment(url=f"{link}/preview", width=width, height=height)
        messages.append(
            (
                f"deliver-{ids}-preview",
                OutboundMessage(text="效果预览（带水印）", kind="image", attachments=(preview,)),
            )
        )
    text = wording.result_ready(item.task_id, link, link_days=LINK_DAYS)
    messages.append((f"deliver-{ids}-link", OutboundMessage(text=text)))
    conv = session.get(Conversation, item.conversation_id)
    for command_id, message in messages:
        if conv is not None and conv.customer_id == item.customer_id:
            # The conversation outbox: the customer's transcript shows the result was sent.
            conversations.send_to_customer(
                session,
                clock,
                conv.conversation_id,
                message,
                role=conversations.Role.AI,
                command_id=command_id,
            )
            continue
        # A task whose chat has no conversation of this customer (made by a partner system with
        # a chat id of its own): the link still goes to the chat the task names.
        gw.queue_send(
            session,
            clock,
            account_id=item.account_id,
            conversation_id=item.conversation_id,
            to=item.customer_id,
            message=message.wire(),
            command_id=command_id,
        )
    return token


def resolve(session: Session, clock: Clock, token: str) -> DeliveryRow:
    """The delivery a link token stands for (NotFound when unknown, LinkExpired when old)."""
    if not isinstance(token, str) or not TOKEN_PATTERN.match(token):
        raise NotFound("no such result link")
    row = session.execute(
        select(DeliveryRow).where(DeliveryRow.token_hash == token_hash(token))
    ).scalar_one_or_none()
    if row is None:
        raise NotFound("no such result link")
    if row.expires_epoch < clock.epoch():
        raise LinkExpired(f"this result link expired at {row.expires_at}")
    return row


@dataclass(eq=False)
class ResultDelivery:
    """The loop that announces finished results (run by ``aics serve`` with the gateway)."""

    db: Database
    clock: Clock
    settings: Settings
    _: KW_ONLY
    on_queued: Callable[[], None] | None = None
    poll_seconds: float = POLL_SECONDS

    def deliver_once(self) -> list[str]:
        """Announce every result not yet announced; returns the task ids announced now."""
        with self.db.read() as session:
            todo = undelivered(session)
        done: list[str] = []
        for item in todo:
            preview: tuple[int, int] | None = None
            if has_preview(item.result_image):
                try:
                    with Image.open(preview_file(self.settings, item.result_image)) as img:
                        preview = img.size
                except (AicsError, OSError, ValueError) as exc:
                    # No preview is no reason to withhold the result: send the link alone.
                    log.warning("delivery: no preview for %s: %s", item.task_id, exc)
            token = self.db.run_write(
                functools.partial(
                    announce,
                    clock=self.clock,
                    settings=self.settings,
                    item=item,
                    preview_size=preview,
                )
            )
            if token is not None:
                done.append(item.task_id)
        if done and self.on_queued is not None:
            self.on_queued()
        return done

    async def run(self, stop: asyncio.Event) -> None:
        """Announce results every ``poll_seconds`` until ``stop`` is set."""
        while not stop.is_set():
            try:
                delivered = await asyncio.to_thread(self.deliver_once)
            except (SQLAlchemyError, AicsError, OSError) as exc:
                log.warning("delivery: round failed: %r", exc)
                delivered = []
            if delivered:
                log.info("delivery: announced results of %s", ", ".join(delivered))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.poll_seconds)
