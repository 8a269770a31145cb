"""mailflow's modules import each other without a cycle, and each can be imported alone.

A cycle hides behind a function-level import until the day someone moves it to the top, or
imports the modules in the other order; so every import counts here, wherever it stands.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import mailflow

PACKAGE = Path(mailflow.__file__).parent
# Running them is what importing them does: `python -m mailflow` starts the CLI.
NOT_IMPORTABLE = {"mailflow.__main__"}


def _name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _imported(module: str, path: Path) -> set[str]:
    """The mailflow modules `module` imports, at any level of its code (`from .x import y`,
    `from . import x`, `import mailflow.x`); `y` counts when it is a module itself."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return {name for name in found if name in MODULES and name != module}


def test_the_imports_between_mailflow_modules_have_no_cycle():
    graph = {module: _imported(module, path) for module, path in MODULES.items()}
    assert "mailflow.context" in graph["mailflow.replies"]       # the walk sees edges at all
    try:
        list(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        raise AssertionError(f"import cycle: {' -> '.join(exc.args[1])}") from None


def test_every_module_imports_alone():
    # One fresh interpreter; before each module, every mailflow module is forgotten, so each
    # import starts from nothing of ours (third-party packages stay loaded: they are not ours to test).
    modules = sorted(set(MODULES) - NOT_IMPORTABLE)
    script = (
        "import importlib, sys, traceback\n"
        "failed = []\n"
        f"for name in {modules!r}:\n"
        "    for loaded in [m for m in sys.modules if m == 'mailflow' or m.startswith('mailflow.')]:\n"
        "        del sys.modules[loaded]\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except Exception:\n"
        "        failed.append(name + ': ' + traceback.format_exc(limit=-3))\n"
        "print('\\n'.join(failed))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          cwd=PACKAGE.parent)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "", done.stdout
