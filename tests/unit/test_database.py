"""The schema: created once, however many processes open a new database at the same moment."""

from __future__ import annotations

import multiprocessing

import sqlite_utils

from mailflow.database import migrations, open_database
from mailflow.errors import MailflowError


def registered() -> list[str]:
    return [step.name for step in migrations.pending(sqlite_utils.Database(memory=True))]


def schema(db: sqlite_utils.Database) -> list[tuple]:
    return db.execute("select type, name, tbl_name, sql from sqlite_master order by type, name").fetchall()


def recorded(db: sqlite_utils.Database) -> list[tuple[str, str]]:
    return db.execute("select name, applied_at from _sqlite_migrations order by id").fetchall()


def test_a_new_database_records_every_step_once(tmp_path):
    db = open_database(tmp_path / "new.db")
    assert [name for name, _ in recorded(db)] == registered()
    assert db.journal_mode == "wal"
    before = (schema(db), recorded(db))
    assert (schema(open_database(tmp_path / "new.db")), recorded(db)) == before


def _first_open(path: str, start, results) -> None:
    start.wait()
    try:
        db = open_database(path)
        results.put([name for name, _ in recorded(db)])
    except MailflowError as exc:
        results.put(str(exc))


def test_twenty_processes_opening_a_new_database_at_once_all_succeed(tmp_path):
    # Before the exclusive lock, about a third failed with "database is locked".
    path, openers = str(tmp_path / "new.db"), 20
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(openers), context.Queue()
    processes = [context.Process(target=_first_open, args=(path, start, results)) for _ in range(openers)]
    for process in processes:
        process.start()
    try:
        outcomes = [results.get(timeout=120) for _ in processes]
    finally:
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
    assert outcomes == [registered()] * openers
    db = open_database(path)
    assert [name for name, _ in recorded(db)] == registered()
    assert schema(db) == schema(open_database(tmp_path / "fresh.db"))
