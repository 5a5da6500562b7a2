"""Which processing workers are alive: a heartbeat row per worker in ``worker_presence``.

A worker (in ``aics serve``, ``aics worker``, on this machine or another) writes its row every
:data:`BEAT_SECONDS` and removes it when it stops; a row not refreshed for :data:`STALE_SECONDS`
is a worker that died. ``aics chat`` asks :func:`live_workers` so that a customer who pays in the
terminal gets the result whether or not a server is running: it runs a worker itself only when
nobody else will.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from typing import Final

from sqlalchemy import delete, func, select
from sqlalchemy.exc import SQLAlchemyError

from ai_cs.clock import Clock, iso
from ai_cs.db.database import Database
from ai_cs.db.models import WorkerPresence

log = logging.getLogger(__name__)

BEAT_SECONDS: Final = 5.0
STALE_SECONDS: Final = 20.0


def new_worker_id() -> str:
    """An id that says where the worker runs (host and pid) and is unique anyway."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def beat(db: Database, clock: Clock, worker_id: str, queue: str) -> None:
    """Write (or refresh) this worker's row."""
    now = clock.epoch()
    with db.write() as session:
        row = session.get(WorkerPresence, worker_id)
        if row is None:
            session.add(
                WorkerPresence(
                    worker_id=worker_id,
                    host=socket.gethostname(),
                    pid=os.getpid(),
                    queue=queue,
                    started_at=iso(clock.now()),
                    seen_epoch=now,
                )
            )
        else:
            row.seen_epoch = now
        # Rows of workers that died without saying goodbye go when anyone beats.
        session.execute(
            delete(WorkerPresence).where(WorkerPresence.seen_epoch < now - 10 * STALE_SECONDS)
        )


def leave(db: Database, worker_id: str) -> None:
    """Remove this worker's row (a clean stop)."""
    with db.write() as session:
        session.execute(delete(WorkerPresence).where(WorkerPresence.worker_id == worker_id))


def live_workers(db: Database, clock: Clock) -> int:
    """How many workers have beaten within :data:`STALE_SECONDS`."""
    with db.read() as session:
        count = session.execute(
            select(func.count())
            .select_from(WorkerPresence)
            .where(WorkerPresence.seen_epoch >= clock.epoch() - STALE_SECONDS)
        ).scalar_one()
    return int(count)


async def announce_until(db: Database, clock: Clock, queue: str, stop: asyncio.Event) -> None:
    """Beat every :data:`BEAT_SECONDS` until ``stop`` is set, then leave.

    A database hiccup skips a beat (logged) instead of ending the worker.
    """
    worker_id = new_worker_id()
    while not stop.is_set():
        try:
            await asyncio.to_thread(beat, db, clock, worker_id, queue)
        except SQLAlchemyError as exc:
            log.warning("worker presence not written: %s", exc.__class__.__name__)
        try:
            await asyncio.wait_for(stop.wait(), timeout=BEAT_SECONDS)
        except TimeoutError:
            pass
    try:
        await asyncio.to_thread(leave, db, worker_id)
    except SQLAlchemyError as exc:
        log.warning("worker presence not removed: %s", exc.__class__.__name__)
