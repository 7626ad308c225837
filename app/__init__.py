"""DRCNet Studio: the PySide6 desktop GUI over the :mod:`drcnet` compute core."""

from .refcount_guard import guard

try:
    guard()  # before any window paints: see app/refcount_guard.py
except ModuleNotFoundError:  # no PySide6: app.console says so in one line, not a traceback
    pass
