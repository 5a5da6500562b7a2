"""Messages sent in the middle of a turn ("收到图片，正在看～"), before the turn's answer.

A turn's replies are queued when the turn ends. A turn that will take a while (a picture
waiting for its analysis on a worker) can tell the customer at once through the sender the
channel bound for the turn: the gateway queues it in the send outbox right away, with a command
id derived from the turn's first event id, so a re-run of the turn sends it only once. Channels
without a sender (the command-line chat, assist mode) simply have none: :func:`send_interim`
then returns False and nothing is sent.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar, Token

from ai_cs.conversations.contracts import OutboundMessage

InterimSender = Callable[[OutboundMessage], Awaitable[None]]

_SENDER: ContextVar[InterimSender | None] = ContextVar("aics_interim_sender", default=None)


def bind(sender: InterimSender) -> Token[InterimSender | None]:
    """Make ``sender`` the interim sender of the current turn (reset with :func:`unbind`)."""
    return _SENDER.set(sender)


def unbind(token: Token[InterimSender | None]) -> None:
    """Undo :func:`bind`."""
    _SENDER.reset(token)


async def send_interim(message: OutboundMessage) -> bool:
    """Send ``message`` now if the channel can; False when it has no interim sender."""
    sender = _SENDER.get()
    if sender is None:
        return False
    await sender(message)
    return True
