"""Launch DRCNet Studio: ``python main.py [IMAGE] [--task T] [--device D] [--screenshot PNG]``."""

import sys

from app.console import main

if __name__ == "__main__":
    sys.exit(main())
