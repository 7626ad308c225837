"""Keep ``None``, ``True`` and ``False`` alive under a PySide6 that drops references to them.

PySide6 6.12.0 (the only release the project's package index offers) returns ``None`` from
void methods (``QPainter.drawPixmap``, ``QWidget.update``, ``QLabel.setText``, …) and
``True`` from ``SignalInstance.emit`` without taking a reference. From Python 3.12 these
objects are immortal and nothing happens. On 3.11, which this project supports and its CI
runs, every call takes one reference away for good: painting the whole window costs about 12
references to ``None`` (``scripts/pyside_refcount.py``, docs/eval/pyside_refcount.txt), so
after some thousands of repaints, or at interpreter exit, Python aborts with "Fatal Python
error: none_dealloc: deallocating None" (or ``bool_dealloc``). The GUI's own test files,
run alone, ended that way.

:func:`guard` checks whether the installed PySide6 has the leak and, only then, adds 2**40
references to each of the three objects, the same thing Python 3.12 does by making them
immortal. At 12 references a repaint that lasts some 9e10 repaints. The check and the fix
touch nothing on Python 3.12 and later, on other interpreters, or with a PySide6 that counts
correctly.
"""

from __future__ import annotations

import ctypes
import platform
import sys

BIAS = 1 << 40
_done = False


def leaks() -> tuple[bool, bool]:
    """Whether a void method loses a reference to ``None``, and ``emit`` one to ``True``."""
    from PySide6.QtCore import QObject, QPointF, Signal

    class Probe(QObject):
        fired = Signal()

    point, probe, n = QPointF(), Probe(), 64
    before = sys.getrefcount(None)
    for _ in range(n):
        point.setX(0.0)
    none_leaks = sys.getrefcount(None) <= before - n // 2
    before = sys.getrefcount(True)
    for _ in range(n):
        probe.fired.emit()
    true_leaks = sys.getrefcount(True) <= before - n // 2
    return none_leaks, true_leaks


def guard() -> bool:
    """Apply the bias once per process where it is needed; true when it was applied."""
    global _done
    if (_done or sys.version_info >= (3, 12) or platform.python_implementation() != "CPython"
            or hasattr(sys, "getobjects")):  # immortal, no refcounts, or a trace-refs build
        return False
    _done = True
    if not any(leaks()):
        return False
    for obj in (None, True, False):
        # ob_refcnt is a PyObject's first field (Py_ssize_t) in CPython before 3.12.
        ctypes.c_ssize_t.from_address(id(obj)).value += BIAS
    return True
