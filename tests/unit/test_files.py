"""The database files hold people's mail: 0600, or 0640 with rules.yaml's database_group, whatever the umask."""

import grp
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from mailflow.database import open_database
from mailflow.errors import RulesError
from mailflow.rules import parse_rules
from tests.support import REPO, as_another_user
from tests.support.mail import make_mail
from tests.support.maildirs import deliver, maildir_worker
from tests.support.rules import upcoming_rules

FILES = ("test.db", "test.db-wal", "test.db-shm", "test.db-sent")


@pytest.fixture
def umask():
    """Set the process's umask for one test (the usual 022 makes new files world-readable)."""
    before = os.umask(0o022)
    yield os.umask
    os.umask(before)


def other_group() -> grp.struct_group:
    """A group this process may give its files other than its own: any for root, else one it is a
    member of; its own when there is none."""
    own = os.getegid()
    allowed = [g for g in grp.getgrall()
               if g.gr_gid != own and (os.geteuid() == 0 or g.gr_gid in os.getgroups())]
    return allowed[0] if allowed else grp.getgrgid(own)


def modes(folder: Path) -> dict[str, tuple[int, int]]:
    """Each database file's permission bits and group."""
    return {f.name: (f.stat().st_mode & 0o777, f.stat().st_gid) for f in sorted(folder.glob("test.db*"))}


def test_after_a_pass_every_database_file_is_the_owners_alone(tmp_path, maildirs, umask, caplog):
    caplog.set_level(logging.WARNING, logger="mailflow.database")
    deliver(maildirs, make_mail(), "1")
    worker = maildir_worker(upcoming_rules(), maildirs, tmp_path / "test.db")
    assert worker.run_once().sent == 1
    found = modes(tmp_path)
    assert sorted(found) == sorted(FILES)
    assert {name: mode for name, (mode, _) in found.items()} == dict.fromkeys(FILES, 0o600)
    assert not caplog.records   # created so: never readable by others, not even for a moment


def test_with_a_database_group_every_file_is_readable_by_that_group(tmp_path, maildirs, umask):
    umask(0o077)   # the group's read bit must not depend on the umask
    group = other_group()
    deliver(maildirs, make_mail(), "1")
    worker = maildir_worker(upcoming_rules(database_group=group.gr_name), maildirs, tmp_path / "test.db")
    assert worker.run_once().sent == 1
    assert modes(tmp_path) == dict.fromkeys(FILES, (0o640, group.gr_gid))


def test_files_an_earlier_version_left_readable_are_tightened_at_open_and_logged_once(tmp_path, caplog):
    holder = open_database(tmp_path / "test.db")   # keeps -wal and -shm while the next ones open
    (tmp_path / "test.db-sent").touch()
    for name in FILES:
        (tmp_path / name).chmod(0o644)
    caplog.set_level(logging.WARNING, logger="mailflow.database")
    open_database(tmp_path / "test.db")
    assert {name: mode for name, (mode, _) in modes(tmp_path).items()} == dict.fromkeys(FILES, 0o600)
    assert [r.getMessage() for r in caplog.records] == [
        "database files set to mode 0600 (they hold people's mail; they were: "
        + ", ".join(f"{name} 0644 group {grp.getgrgid(os.getegid()).gr_name}" for name in FILES) + ")"
    ]
    open_database(tmp_path / "test.db")
    assert len(caplog.records) == 1
    holder.close()


def test_a_database_group_is_given_to_the_files_of_an_existing_database(tmp_path):
    holder = open_database(tmp_path / "test.db")
    group = other_group()
    open_database(tmp_path / "test.db", group=group.gr_name)
    assert modes(tmp_path) == dict.fromkeys(FILES[:3], (0o640, group.gr_gid))
    holder.close()


def test_an_unknown_database_group_is_a_rules_problem_with_its_line():
    text = (REPO / "rules.yaml").read_text() + "database_group: no-such-group-mailflow\n"
    with pytest.raises(RulesError) as caught:
        parse_rules(text, Path("rules.yaml"))
    line = len(text.splitlines())
    assert [str(p) for p in caught.value.problems] == [(
        f"rules.yaml:{line}: database_group: no such group on this machine; name an existing group "
        "(getent group lists them) or remove the key, and the database files are the owner's alone "
        "(got 'no-such-group-mailflow')"
    )]


@pytest.mark.skipif(os.geteuid() != 0, reason="runs the open as another user, which needs root")
def test_wal_and_shm_that_sqlite_creates_for_another_user_get_the_database_group():
    """As root SQLite gives -wal and -shm the database file's owner and group; as anyone else, its
    own group: open_database gives them the database group."""
    nobody = 65534
    group = next(g for g in grp.getgrall() if g.gr_gid not in (0, nobody))
    folder = Path(tempfile.mkdtemp())
    folder.chmod(0o777)
    report = folder / "modes.json"
    try:

        def open_it() -> None:
            db = open_database(folder / "test.db", group=group.gr_name)
            db.execute("create table t (x)")
            report.write_text(json.dumps(modes(folder)))

        as_another_user(nobody, nobody, [group.gr_gid], open_it)
        found = {name: tuple(value) for name, value in json.loads(report.read_text()).items()}
        assert found == dict.fromkeys(FILES[:3], (0o640, group.gr_gid))
    finally:
        shutil.rmtree(folder)
