"""The schema: steps applied in the order their names sort, old databases upgraded, simultaneous first opens."""

from __future__ import annotations

import multiprocessing
import re
import sqlite3

import pytest
import sqlite_utils
from sqlite_utils.migrations import Migrations

from mailflow import database
from mailflow.database import migrations, open_database
from mailflow.errors import MailflowError

# The steps as mailflow recorded them before they were renamed (main up to 0011_asks): the names
# in the order the steps ran, and the step each name stands for (a step's code never changes).
OLD_STEPS = [
    ("0001_initial", database._initial),
    ("0002_review", database._review),
    ("0003_releases", database._releases),
    ("0010_people", database._people),
    ("0004_lookups", database._lookups),
    ("0005_delivery", database._delivery),
]


def registered() -> list[str]:
    return [step.name for step in migrations.pending(sqlite_utils.Database(memory=True))]


def schema(db: sqlite_utils.Database) -> tuple[dict, list]:
    """Tables with their columns, keys and foreign keys, and the indexes. A table's columns in any
    order: steps merged from parallel branches add columns in another order to older databases."""
    tables = {table.name: (sorted((c.name, c.type, c.notnull, c.default_value, c.is_pk) for c in table.columns),
                           sorted(table.foreign_keys))
              for table in db.tables}
    return tables, db.execute("select name, tbl_name, sql from sqlite_master where type = 'index' "
                              "order by name").fetchall()


def recorded(db: sqlite_utils.Database) -> list[tuple[str, str]]:
    return db.execute("select name, applied_at from _sqlite_migrations order by id").fetchall()


def old_database(path, steps: int = len(OLD_STEPS)) -> sqlite_utils.Database:
    """A database as the code before the renaming left it, with its first `steps` steps applied."""
    old = Migrations("mailflow")
    for name, step in OLD_STEPS[:steps]:
        old(name=name)(step)
    db = sqlite_utils.Database(sqlite3.connect(str(path), isolation_level=None))
    db.enable_wal()
    old.apply(db)
    return db


def test_step_names_sort_in_registration_order():
    names = registered()
    assert all(re.fullmatch(r"\d{4}_[a-z0-9_]+", name) for name in names), names
    numbers = [int(name[:4]) for name in names]
    assert numbers == sorted(set(numbers)), f"a new step goes last, numbered one more than the step before: {names}"


def test_every_old_name_is_renamed_to_the_same_step():
    steps = {step.name: step.fn for step in migrations.pending(sqlite_utils.Database(memory=True))}
    for old, step in OLD_STEPS:
        assert steps[database.RENAMED_STEPS.get(old, old)] is step
    assert set(database.RENAMED_STEPS) <= {old for old, _ in OLD_STEPS}


def test_a_new_database_records_every_step_once(tmp_path):
    db = open_database(tmp_path / "new.db")
    assert [name for name, _ in recorded(db)] == registered()
    assert db.journal_mode == "wal"
    assert "raw_purged_at" in db["messages"].columns_dict
    before = (schema(db), recorded(db))
    assert (schema(open_database(tmp_path / "new.db")), recorded(db)) == before


@pytest.mark.parametrize("steps", range(1, len(OLD_STEPS) + 1))
def test_a_database_with_the_old_names_upgrades_without_running_a_step_twice(tmp_path, steps):
    old = old_database(tmp_path / "old.db", steps)
    applied = recorded(old)
    db = open_database(tmp_path / "old.db")
    names = registered()
    # The old rows are renamed in place (same applied_at: not run again); only the missing steps ran.
    assert recorded(db)[:steps] == [(names[i], at) for i, (_, at) in enumerate(applied)]
    assert sorted(name for name, _ in recorded(db)) == names
    assert schema(db) == schema(open_database(tmp_path / "fresh.db"))


def test_a_database_where_a_purge_added_raw_purged_at_upgrades(tmp_path):
    old = old_database(tmp_path / "old.db")
    old["messages"].add_column("raw_purged_at", str)   # what the first `mailflow purge` did before 0008
    db = open_database(tmp_path / "old.db")
    assert sorted(name for name, _ in recorded(db)) == registered()
    assert schema(db) == schema(open_database(tmp_path / "fresh.db"))


def test_a_failing_step_leaves_the_database_as_it_was(tmp_path, monkeypatch):
    old = old_database(tmp_path / "old.db", len(OLD_STEPS) - 1)   # the last old step and any later are pending
    applied, before = recorded(old), schema(old)

    def broken(db):
        db["messages"].add_column("half_done", str)
        raise sqlite3.OperationalError("disk I/O error")
    monkeypatch.setattr(migrations._migrations[-1], "fn", broken)
    with pytest.raises(MailflowError, match="cannot open the database .*old.db: disk I/O error"):
        open_database(tmp_path / "old.db")
    assert (recorded(old), schema(old)) == (applied, before)   # not even renamed


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


def test_a_nested_transaction_undoes_only_its_own_writes_when_it_fails(tmp_path):
    # The worker's batch is one transaction and each mail a nested one: a mail that fails takes
    # back its own writes, the others in the batch are committed.
    db = open_database(tmp_path / "mailflow.db")
    db.execute("create table t (name text)")
    names = lambda: [r[0] for r in db.execute("select name from t order by rowid")]  # noqa: E731

    with database.transaction(db):
        db.execute("insert into t values ('batch')")
        with database.transaction(db):
            db.execute("insert into t values ('first mail')")
        with pytest.raises(ZeroDivisionError), database.transaction(db):
            db.execute("insert into t values ('failing mail')")
            with database.transaction(db):   # nested twice: undone with the mail around it
                db.execute("insert into t values ('its registrant')")
            1 / 0  # noqa: B018
        with database.transaction(db):
            db.execute("insert into t values ('next mail')")
            with pytest.raises(ZeroDivisionError), database.transaction(db):
                db.execute("insert into t values ('its failing part')")
                1 / 0  # noqa: B018
    assert names() == ["batch", "first mail", "next mail"]
    assert not db.conn.in_transaction

    with pytest.raises(ZeroDivisionError), database.transaction(db):   # the batch fails: all of it is undone
        db.execute("insert into t values ('second batch')")
        with database.transaction(db):
            db.execute("insert into t values ('a mail of it')")
        1 / 0  # noqa: B018
    assert names() == ["batch", "first mail", "next mail"]
    assert not db.conn.in_transaction


def test_a_level_whose_undo_fails_is_undone_with_the_level_around_it(tmp_path):
    # The mail's own savepoint takes back what a part of it could not: its ROLLBACK TO must reach
    # past the part's savepoint, which the failed undo left open.
    db = open_database(tmp_path / "mailflow.db")
    db.execute("create table t (name text)")
    connection = db.conn

    class FirstUndoFails:
        failed = False

        def execute(self, sql, *args):
            if sql.startswith("ROLLBACK TO") and not self.failed:
                self.failed = True
                raise sqlite3.OperationalError("stand-in: this undo failed")
            return connection.execute(sql, *args)

        def __getattr__(self, name):
            return getattr(connection, name)

    db.conn = FirstUndoFails()  # type: ignore[assignment]
    with database.transaction(db):
        db.execute("insert into t values ('batch')")
        with pytest.raises(sqlite3.OperationalError, match="stand-in"), database.transaction(db):   # a mail
            db.execute("insert into t values ('failing mail')")
            with database.transaction(db):   # a part of it
                db.execute("insert into t values ('its part')")
                1 / 0  # noqa: B018
        db.execute("insert into t values ('next mail')")
    assert [r[0] for r in db.execute("select name from t order by rowid")] == ["batch", "next mail"]
    assert not connection.in_transaction


def test_is_registered_counts_active_and_bounced_registrants_of_the_events_asked_about(tmp_path):
    from mailflow import registrants

    db = open_database(tmp_path / "r.db")
    registrants.register(db, "past", "old@x.ge", "Old", None, None)
    registrants.register(db, "ahead", "now@x.ge", "Now", None, None)
    registrants.register(db, "ahead", "gone@x.ge", "Gone", None, None)
    registrants.cancel(db, "ahead", "gone@x.ge")
    registrants.mark_undeliverable(db, "now@x.ge")   # bounced: still registered
    assert registrants.is_registered(db, "now@x.ge", ["ahead"])
    assert registrants.is_registered(db, "old@x.ge") and not registrants.is_registered(db, "old@x.ge", ["ahead"])
    assert not registrants.is_registered(db, "gone@x.ge")


def test_savepoint_journals_stay_in_memory_but_vacuums_copy_of_the_database_does_not(tmp_path):
    """Each mail's savepoint journal outgrows SQLite's 64 KiB in memory; in a temporary file it took three of
    every four writes of a pass. VACUUM (people.compact, after `mailflow forget`) copies the whole database:
    that copy must not be held in memory."""
    from mailflow import people

    db = open_database(tmp_path / "mailflow.db")
    assert db.execute("PRAGMA temp_store").fetchone()[0] == 2   # MEMORY
    people.compact(db)
    assert db.execute("PRAGMA temp_store").fetchone()[0] == 1   # FILE
