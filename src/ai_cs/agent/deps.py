"""What one agent run knows: the conversation it serves, set by the server, never by the model."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from ai_cs.config import Settings
from ai_cs.conversations.contracts import Attachment

if TYPE_CHECKING:
    from ai_cs.imaging.ocr import OcrEngine
    from ai_cs.workflow import Workflow

T = TypeVar("T")


@dataclass
class ShopDeps:
    """The agent's dependencies for one customer turn of one conversation.

    Identity (platform, shop account, customer, conversation) comes from the gateway event or the
    CLI; tools read it from here and take no such argument from the model, so a model can never
    act for another customer. ``pictures`` and ``turn_text`` are this turn's picture attachments
    and words as the server received them.
    """

    platform: str  # the seed's acc_type
    account_id: str  # the seed's acc_id
    customer_id: str
    conversation_id: str
    workflow: Workflow
    settings: Settings
    customer_nick: str | None = None
    pictures: tuple[Attachment, ...] = ()
    turn_text: str = ""
    ocr: OcrEngine | None = None  # None: the default RapidOCR engine
    allow_local_files: bool = False  # local paths as pictures: the terminal chat and tests only
    # Pictures whose job results the turn already awaited (AICS_PICTURE_JOBS): not waited for again.
    awaited_pictures: frozenset[str] = frozenset()
    # Set when the turn was cancelled (the gateway's handler timeout): a tool still running in
    # its thread then opens no order, since the retried turn opens its own.
    cancelled: threading.Event = field(default_factory=threading.Event, repr=False)
    _done: dict[Hashable, Any] = field(default_factory=dict, repr=False)
    # The model may ask for several tools at once and they run in worker threads.
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def once(self, key: Hashable, action: Callable[[], T]) -> T:
        """Run ``action`` once per turn for ``key``; later identical tool calls get its result.

        A model that repeats a call, or a fallback run after a model error, then cannot add the
        same note twice or open two orders for one picture.
        """
        with self._lock:
            if key not in self._done:
                self._done[key] = action()
            result: T = self._done[key]
        return result
