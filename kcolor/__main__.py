"""``python -m kcolor``: the same as the ``kcolor`` command."""

import sys

from kcolor.cli import main

if __name__ == "__main__":
    sys.exit(main())
