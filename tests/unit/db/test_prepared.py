"""Prebuilt statements run on the write transaction's connection, and only on that one."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session

from ai_cs.db.database import CONNECTION_KEY, Database
from ai_cs.db.prepared import is_pg, prepared, run

INSERT = text("INSERT INTO t (v) VALUES (:v)")
COUNT = text("SELECT count(*) FROM t WHERE v >= :low").bindparams(bindparam("low"))


def _db(tmp_path: Path) -> Database:
    db = Database(f"sqlite:///{tmp_path / 'p.db'}")
    with db.write() as session:
        session.execute(text("CREATE TABLE t (v INTEGER)"))
    return db


def test_statements_run_in_the_write_transaction_and_roll_back_with_it(tmp_path: Path) -> None:
    db = _db(tmp_path)
    try:
        with db.write() as session:
            run(session, INSERT, {"v": 1})
            assert run(session, COUNT, {"low": 0}).scalar_one() == 1
            assert not is_pg(session)
        try:
            with db.write() as session:
                run(session, INSERT, {"v": 2})
                raise RuntimeError("roll back")
        except RuntimeError:
            pass
        with db.read() as session:
            assert run(session, COUNT, {"low": 0}).scalar_one() == 1
    finally:
        db.dispose()


def test_a_kept_connection_is_used_only_within_its_own_transaction(tmp_path: Path) -> None:
    # Database.write() forbids ending its transaction inside the block; a session that keeps
    # the connection the same way but commits and goes on gets the new transaction's one.
    db = _db(tmp_path)
    try:
        with Session(db.writer) as session:
            session.info[CONNECTION_KEY] = None
            run(session, INSERT, {"v": 1})
            first = session.info[CONNECTION_KEY]
            session.commit()
            run(session, INSERT, {"v": 2})
            assert session.info[CONNECTION_KEY][0] is not first[0]
            session.commit()
        with db.read() as session:
            assert run(session, COUNT, {"low": 0}).scalar_one() == 2
    finally:
        db.dispose()


def test_prepared_builds_once_per_argument_tuple() -> None:
    built: list[bool] = []

    @prepared
    def statement(flag: bool) -> object:
        built.append(flag)
        return text("SELECT 1")

    assert statement(True) is statement(True)
    assert statement(False) is not statement(True)
    assert built == [True, False]
