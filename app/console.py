"""The ``drcnet-studio`` console script (and ``main.py``).

It imports the GUI, and with it torch and Qt, inside ``main``, so a dependency that is not
installed, or a Ctrl+C pressed while they load, ends in one line, as ``drcnet`` does
(:mod:`drcnet.console`), not in a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from drcnet.console import missing_text, tolerant_streams  # torch-free, as drcnet's own entry

EXIT_INTERRUPTED = 130


def main(argv: Sequence[str] | None = None) -> int:
    tolerant_streams()
    try:
        from .main import main as studio_main
    except KeyboardInterrupt:
        print("drcnet-studio: error: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except ModuleNotFoundError as exc:
        print(f"drcnet-studio: error: {missing_text(exc)}", file=sys.stderr)
        return 1
    try:
        return studio_main(argv)
    except ModuleNotFoundError as exc:  # one imported later (a window's module)
        print(f"drcnet-studio: error: {missing_text(exc)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
