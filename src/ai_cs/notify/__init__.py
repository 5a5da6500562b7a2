"""Notifications to the shop (CONTRACT §11): DingTalk, Feishu, WeCom and a signed webhook.

Code that notices something a person must handle calls :func:`emit` inside its own
transaction; the relay of ``aics serve`` (:mod:`ai_cs.notify.relay`) sends each event to every
configured channel, retrying with backoff, without ever blocking an order.
"""

from ai_cs.notify.events import NotifyKind, emit

__all__ = ["NotifyKind", "emit"]
