"""The ``kcolor`` command: colour photos, list models, train on your own folder, run a demo.

One module per subcommand, each with ``add_parser(subparsers)`` and ``run(args) -> exit
status``: :mod:`~kcolor.cli.colorize` (photos, folders, videos, hints, engine choice),
:mod:`~kcolor.cli.models`, :mod:`~kcolor.cli.train`, :mod:`~kcolor.cli.demo`,
:mod:`~kcolor.cli.evaluate`, :mod:`~kcolor.cli.convert`, :mod:`~kcolor.cli.export`,
:mod:`~kcolor.cli.serve` (:mod:`kcolor.serve.cli`) and :mod:`~kcolor.cli.data`
(:mod:`kcolor.curation.cli`). :mod:`~kcolor.cli.parser` holds the top-level parser, the
registry :data:`COMMANDS`, the exit statuses and the error handling all commands share;
:mod:`~kcolor.cli.common` the error format and shared help texts.

Public names: :func:`main`, :func:`build_parser`, :func:`train_config_from_args`,
:data:`COMMANDS`, :data:`PROG`, :data:`DEMO_ARTICLE_PRESET`; kept for old imports:
``_load_colorizer`` and ``_panels`` (to patch the loader, patch
``kcolor.cli.colorize._load_colorizer``: the commands look it up there).

Heavy modules (Keras, torch) load only inside the commands: importing this package, and
``kcolor colorize`` with an exported preset, import neither.

Example:

>>> from kcolor.cli import main
>>> main(["evaluate", "no/such/folder", "-o", "eval_out"])
2
"""

from kcolor.cli.colorize import _load_colorizer
from kcolor.cli.common import PROG
from kcolor.cli.demo import DEMO_ARTICLE_PRESET, _panels
from kcolor.cli.parser import COMMANDS, build_parser, main
from kcolor.cli.train import train_config_from_args

__all__ = [
    "COMMANDS",
    "DEMO_ARTICLE_PRESET",
    "PROG",
    "_load_colorizer",
    "_panels",
    "build_parser",
    "main",
    "train_config_from_args",
]
