"""The wheel as someone who installs with pip gets it: the shipped project inside, and `mailflow init`,
`check` and `demo` working in an empty folder, from a fresh venv outside the checkout.

Marked `packaging` (about 30 s: pip builds the wheel with setuptools from its cache or PyPI, and installs
the dependencies into the venv the same way); it runs in .ci/run with every other test.
"""

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.support import REPO

pytestmark = pytest.mark.packaging

NOT_BUILT = shutil.ignore_patterns(".git", "tests", "benchmarks", "build", "dist", "*.egg-info", "__pycache__",
                                   "demo-output", "*.db", "*.db-*", ".venv")


def run(command: list, cwd: Path, env: dict) -> str:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{command}: {done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel pip builds from a copy of the checkout (so the build leaves nothing in it)."""
    folder = tmp_path_factory.mktemp("wheel")
    shutil.copytree(REPO, folder / "source", ignore=NOT_BUILT)
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(folder / "dist"), str(folder / "source")],
        folder, os.environ.copy())
    (built,) = (folder / "dist").glob("mailflow-*.whl")
    return built


def test_the_wheel_holds_every_template_the_rules_the_samples_and_every_module(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"mailflow/shipped/templates/{path.name}" for path in (REPO / "templates").iterdir()}
    expected |= {f"mailflow/shipped/{path.relative_to(REPO).as_posix()}"
                 for path in (REPO / "samples" / "maildir").rglob("*") if path.is_file() and path.name != ".keep"}
    expected |= {path.relative_to(REPO).as_posix() for path in (REPO / "mailflow").rglob("*.py")}
    expected.add("mailflow/shipped/rules.yaml")
    assert expected - names == set()
    assert not any(name.startswith(("tests/", "benchmarks/")) for name in names)


def test_init_check_and_demo_in_an_empty_folder_from_a_fresh_venv(wheel, tmp_path):
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "MAILFLOW_RULES")}
    run([sys.executable, "-m", "venv", str(tmp_path / "venv")], tmp_path, env)
    run([str(tmp_path / "venv/bin/python"), "-m", "pip", "install", "-q", str(wheel)], tmp_path, env)
    empty = tmp_path / "empty"
    empty.mkdir()
    mailflow = str(tmp_path / "venv/bin/mailflow")
    where = run([str(tmp_path / "venv/bin/python"), "-c", "import mailflow; print(mailflow.__file__)"], empty, env)
    assert where.startswith(str(tmp_path / "venv")), where
    demo = run([mailflow, "demo"], empty, env)
    assert "recorded 11 new mails, sent 10 mails" in demo
    templates = len(list((REPO / "templates").iterdir()))
    assert f"init: wrote rules.yaml and {templates} templates" in "init: " + run([mailflow, "init"], empty, env)
    assert "rules.yaml: ok (2 mailboxes, 1 events, " in run([mailflow, "check"], empty, env)
    assert sorted(p.name for p in empty.iterdir()) == ["demo-output", "rules.yaml", "templates"]
