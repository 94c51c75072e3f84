"""Curation: preparing photo sets with pandas: scan folders into a manifest, clean it, split it.

* :func:`scan` - one row per file: size, mode, greyness, colourfulness, perceptual hash,
  near-duplicates, read errors (:mod:`kcolor.curation.scanner`);
* :func:`clean` - drop rows by rule (errors, grey, duplicates, small) with a report;
* :func:`split` - deterministic train/val/test, stratified, near-duplicate groups kept whole;
* :func:`find_overlap` - photos of a folder that near-duplicate a manifest's (leakage check);
* :func:`read_manifest`, :func:`write_manifest`, :func:`manifest_paths` - manifest files.

The ``kcolor data`` command (:mod:`kcolor.curation.cli`) runs them from the shell. Nothing here
imports Keras or torch; pandas and matplotlib load on first use. (``kcolor.data`` is the
deprecated old name of this package.)

Public names: ``scan``, ``clean``, ``split``, ``find_overlap``, ``read_manifest``,
``write_manifest``, ``manifest_paths``, ``COLUMNS``; submodules ``scanner``, ``cleaning``,
``splitting``, ``overlap``, ``manifest``, ``duplicates``, ``exclusion``, ``labels``,
``report``, ``cli``.

Example:
    >>> from kcolor import curation
    >>> sorted(curation.COLUMNS)[:3]
    ['bytes', 'chroma', 'colourfulness']
    >>> manifest = curation.scan(["photos/"])                          # doctest: +SKIP
    >>> kept, dropped = curation.clean(manifest, drop=("errors", "grey", "duplicates"))  # doctest: +SKIP
    >>> splits = curation.split(kept, val=0.05, test=0.05, seed=0)     # doctest: +SKIP
"""

from __future__ import annotations

from kcolor._lazy import lazy_getattr

_LAZY = {
    "scan": "kcolor.curation.scanner",
    "clean": "kcolor.curation.cleaning",
    "split": "kcolor.curation.splitting",
    "find_overlap": "kcolor.curation.overlap",
    "read_manifest": "kcolor.curation.manifest",
    "write_manifest": "kcolor.curation.manifest",
    "manifest_paths": "kcolor.curation.manifest",
    "COLUMNS": "kcolor.curation.manifest",
}

__all__ = sorted(_LAZY)


# Lazy, so that `kcolor --help` (which registers `kcolor data`) does not load pandas.
__getattr__ = lazy_getattr(__name__, _LAZY)
