"""DRCNet Studio: the PySide6 desktop GUI over the :mod:`drcnet` compute core."""

from .refcount_guard import guard

guard()  # before any window paints: see app/refcount_guard.py
