"""A turn cancelled while its quoting tool analyses a picture opens no order afterwards.

The gateway gives a turn ``HANDLER_TIMEOUT_SECONDS`` and then retries it. The tool that was
analysing in its thread may go on after the cancellation; were it to open the order then, the
retried turn (which found none and opened one) and the old thread would give the customer two.
"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from agent_support import Chat
from numpy.typing import NDArray

from ai_cs.agent.handler import AgentHandler
from ai_cs.imaging.ocr import OcrLine, StaticOcr
from ai_cs.workflow import Workflow


class GatedOcr(StaticOcr):
    """No text; says when it starts and finishes only when released."""

    def __init__(self) -> None:
        super().__init__([])
        self.started = threading.Event()
        self.release = threading.Event()

    def read(self, rgb: NDArray[np.uint8]) -> list[OcrLine]:
        self.started.set()
        self.release.wait(30)
        return super().read(rgb)


@pytest.mark.anyio
async def test_a_turn_cancelled_while_analysing_opens_no_order(
    fixed_workflow: Workflow, picture: Path
) -> None:
    ocr = GatedOcr()
    chat = Chat(AgentHandler(fixed_workflow, ocr=ocr, allow_local_files=True))
    turn = asyncio.create_task(chat.say("帮我抠图", [picture]))
    assert await asyncio.to_thread(ocr.started.wait, 30)
    turn.cancel()
    with pytest.raises(asyncio.CancelledError):
        await turn
    ocr.release.set()
    deadline = time.monotonic() + 10
    while ocr.calls == 0 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)  # the analysing thread has had time to open an order
    assert fixed_workflow.list_tasks(customer_id=chat.customer_id)[0] == []
    assert "元" in await chat.say("帮我抠图", [picture])  # the retried turn quotes
    assert len(fixed_workflow.list_tasks(customer_id=chat.customer_id)[0]) == 1
