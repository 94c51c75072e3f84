"""Deprecated: ``kcolor.data`` is now :mod:`kcolor.curation` (this alias goes in the next release).

Importing ``kcolor.data`` warns once with ``DeprecationWarning`` and gives the
:mod:`kcolor.curation` package itself; ``kcolor.data.manifest`` and the other submodules
are the ``kcolor.curation`` ones (same module objects, so patches reach both).

Example:
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", DeprecationWarning)
    ...     from kcolor.data.manifest import COLUMNS
    >>> from kcolor.curation import manifest
    >>> COLUMNS is manifest.COLUMNS
    True
"""

import importlib.abc
import importlib.util
import sys

from kcolor._deprecated import alias

_OLD, _NEW = __name__, "kcolor.curation"


class _SubmoduleAlias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Import ``kcolor.data.X`` as the module ``kcolor.curation.X``."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname.startswith(_OLD + "."):
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        module = importlib.import_module(_NEW + spec.name[len(_OLD) :])
        sys.modules[spec.name] = module
        return module

    def exec_module(self, module):
        pass


if not any(isinstance(f, _SubmoduleAlias) for f in sys.meta_path):
    sys.meta_path.insert(0, _SubmoduleAlias())
alias(__name__, _NEW)
