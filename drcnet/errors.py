"""The core's exception family. Each message is one sentence a user can act on."""

from __future__ import annotations


class DRCNetError(Exception):
    """Base class for errors the CLI and GUI show to users as one line."""


class UsageError(DRCNetError, ValueError):
    """A value or combination of settings the user gave is wrong in itself, whatever the disk
    and the machine hold (out of range, an unknown name, options that conflict). The command
    line exits with status 2 for it, as for its own parsing errors, and with 1 for every other
    failure (what files or the machine say). It is also a :class:`ValueError`, so library
    callers that catch that keep working; a plain ``ValueError`` from the core is a broken
    contract between callers (a wrong array shape), a bug, and the command line lets its
    traceback through."""


class ImageReadError(DRCNetError):
    """An image file is missing, empty, corrupt, not an image, or too large."""


class ImageTooLargeError(ImageReadError):
    """An image has more pixels than the caller's limit (checked from its header)."""


class ImageWriteError(DRCNetError):
    """An output image cannot be written (unwritable folder, unsupported format, would
    overwrite an input)."""


class ImageTypeError(ImageWriteError, UsageError):
    """An output's name is not one of an image type Studio writes (``x.gif``, ``x.json``, no
    extension, a trailing slash where a file is meant): wrong whatever the disk holds, so the
    command line exits with 2 for it."""


class UnsafeCheckpointError(DRCNetError):
    """A weight file would run code when loaded, so it was refused."""


class WeightsError(DRCNetError):
    """A weight file is missing, unreadable, or does not fit the network."""


class WeightsNameError(WeightsError, UsageError):
    """An unknown task or variant name, or a variant the task does not have (exit 2)."""


class NoWeightsError(WeightsError):
    """A task has no trained weights shipped yet."""


class DeviceError(DRCNetError):
    """A requested compute device is not available."""


class DeviceNameError(DeviceError, UsageError):
    """An unknown device or precision name, or a precision the device cannot run."""


class Cancelled(DRCNetError):
    """Long work was cancelled by the user."""


def first_line(exc: BaseException, limit: int = 200) -> str:
    """``Type: first line of the message`` (at most ``limit`` characters of it), for
    one-line reports of failures that come as many exception types (compilers, backends)."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0][:limit]}" if text else type(exc).__name__
