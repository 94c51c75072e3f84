"""``python -m kcolor``: the same as the ``kcolor`` command (:func:`kcolor.cli.main`)."""

import sys

from kcolor.cli import main

if __name__ == "__main__":
    sys.exit(main())
