"""DRCNet Studio: the PySide6 desktop GUI over the :mod:`drcnet` compute core."""
