"""What the `mailflow` process loads when it starts: what it uses, whatever else is installed beside it.

sqlite-utils imports numpy when it is installed (for numpy's number types) and loads every
sqlite-utils plugin it finds; mailflow needs neither, and on a machine with numpy they took a
tenth of a second of every start (benchmarks/README.md). Stand-ins on PYTHONPATH leave a mark
when they are imported."""

import os
import subprocess
import sys

from mailflow.database import open_database
from tests.support.rules import write_rules

MARKING_MODULE = "import os, pathlib\npathlib.Path(os.environ['MAILFLOW_TEST_MARKS'], {name!r}).touch()\n"


def test_mailflow_imports_neither_numpy_nor_a_sqlite_utils_plugin_installed_beside_it(tmp_path):
    site, marks = tmp_path / "site", tmp_path / "marks"
    (site / "numpy").mkdir(parents=True)
    marks.mkdir()
    (site / "numpy" / "__init__.py").write_text(MARKING_MODULE.format(name="numpy"))
    (site / "snoop_plugin.py").write_text(MARKING_MODULE.format(name="sqlite-utils plugin"))
    dist_info = site / "snoop_plugin-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: snoop-plugin\nVersion: 1.0\n")
    (dist_info / "entry_points.txt").write_text("[sqlite_utils]\nsnoop = snoop_plugin\n")
    (tmp_path / "project").mkdir()
    rules = write_rules(tmp_path / "project")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")])),
           "MAILFLOW_TEST_MARKS": str(marks)}

    # The stand-ins work: a plain import of sqlite-utils loads both.
    subprocess.run([sys.executable, "-c", "import sqlite_utils, sqlite_utils.plugins as p; p.ensure_plugins_loaded()"],
                   env=env, check=True, timeout=60)
    assert sorted(m.name for m in marks.iterdir()) == ["numpy", "sqlite-utils plugin"]
    for mark in marks.iterdir():
        mark.unlink()

    open_database(tmp_path / "project" / "mailflow.db").close()   # (`status` only reads: it creates none)
    result = subprocess.run([sys.executable, "-m", "mailflow", "--rules", str(rules), "status"],
                            env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "registrants: 0" in result.stdout
    assert [m.name for m in marks.iterdir()] == []
