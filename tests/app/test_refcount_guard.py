"""PySide6 6.12.0 on Python 3.11 drops a reference to None on every void call and to True on
every emit; app.refcount_guard keeps the process alive (see its docstring)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from app import refcount_guard

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]


def test_many_void_calls_and_emits_do_not_abort_the_process() -> None:
    # More calls than None and True have references in a fresh interpreter: without the guard
    # this aborted with "Fatal Python error: none_dealloc: deallocating None".
    script = textwrap.dedent("""
        import sys
        sys.path.insert(0, sys.argv[1])
        import app  # noqa: F401  (applies the guard)
        from PySide6.QtCore import QObject, QPointF, Signal

        class Probe(QObject):
            fired = Signal()

        p, q = QPointF(), Probe()
        for _ in range(200_000):
            p.setX(1.0)
            q.fired.emit()
        print("ok")
    """)
    proc = subprocess.run([sys.executable, "-c", script, str(ROOT)], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-2000:]


def test_the_guard_is_applied_exactly_where_pyside_leaks() -> None:
    none_leaks, true_leaks = refcount_guard.leaks()
    if sys.version_info >= (3, 12):
        assert not refcount_guard.guard()  # immortal singletons: nothing to do
    elif none_leaks or true_leaks:  # applied when app was imported, once
        assert sys.getrefcount(None) > refcount_guard.BIAS // 2
        assert sys.getrefcount(True) > refcount_guard.BIAS // 2
        assert not refcount_guard.guard()
    else:
        assert sys.getrefcount(None) < refcount_guard.BIAS // 2
