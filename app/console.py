"""The ``drcnet-studio`` console script (and ``main.py``).

It imports the GUI, and with it torch and Qt, inside ``main``, so a dependency that is not
installed, or a Ctrl+C pressed while they load, ends in one line, as ``drcnet`` does
(:mod:`drcnet.console`), not in a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

EXIT_INTERRUPTED = 130


def main(argv: Sequence[str] | None = None) -> int:
    try:
        from .main import main as studio_main
        from .main import missing_text
    except KeyboardInterrupt:
        print("drcnet-studio: error: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except ModuleNotFoundError as exc:
        print(f"drcnet-studio: error: the package providing '{exc.name}' is not installed; "
              "run pip install -e . (from the project's folder) in the environment you run "
              "this from", file=sys.stderr)
        return 1
    try:
        return studio_main(argv)
    except ModuleNotFoundError as exc:  # one imported later (a window's module)
        print(f"drcnet-studio: error: {missing_text(exc)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
