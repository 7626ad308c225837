"""The ``drcnet`` console script.

It imports the command line (and with it torch, a second or more) inside ``main``, so a
Ctrl+C pressed while torch is still loading ends like one pressed later: one line and
status 130, not a traceback. Nothing here may import torch at module level.
"""

from __future__ import annotations

import sys

EXIT_INTERRUPTED = 130


def missing_text(exc: ModuleNotFoundError) -> str:
    """What ``drcnet`` and ``drcnet-studio`` say when a dependency is not installed."""
    return (f"the package providing '{exc.name}' is not installed; run pip install -e . "
            "(from the project's folder) in the environment you run this from")


def tolerant_streams() -> None:
    """Let stdout and stderr write what their encoding lacks as ``\\u`` escapes instead of
    raising: redirected on Windows, stdout encodes strictly in the ANSI code page (cp1252),
    where the σ and δ of the help texts and tables had ended a finished command with a
    traceback. (Under pythonw both streams are None.) Only a strict stream is changed: under
    the C locale Python writes undecodable file names back as their bytes (surrogateescape),
    and PYTHONIOENCODING may have asked for an error handler of its own."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and getattr(stream, "errors", None) == "strict":
            reconfigure(errors="backslashreplace")


def main() -> int:
    tolerant_streams()
    try:
        from .cli import main as cli_main
    except KeyboardInterrupt:
        print("drcnet: error: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except ModuleNotFoundError as exc:  # a dependency not installed: one line, not a trace
        print(f"drcnet: error: {missing_text(exc)}", file=sys.stderr)
        return 1
    return cli_main()


if __name__ == "__main__":
    sys.exit(main())
