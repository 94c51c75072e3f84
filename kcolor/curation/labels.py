"""A photo's class, from the names around it (for stratified splits).

The rule, first match wins:

1. an annotation file (``*annotations.txt``, e.g. Tiny ImageNet's ``val_annotations.txt``)
   in the photo's folder or the folder above (up to the scanned folder), whose lines start
   with ``<file name> <label>`` (tab or space separated);
2. a WordNet id at the start of the file name, ``n01443537_0.JPEG`` -> ``n01443537``
   (Tiny ImageNet train, ImageNet samples);
3. the first sub-folder under the scanned folder, ``flowers/daisy/x.jpg`` -> ``daisy``;
4. otherwise no label (``""``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

__all__ = ["LabelFinder", "label_from_name"]

_WNID = re.compile(r"^(n\d{8})_")


def label_from_name(path) -> str:
    """Rule 2 alone: the WordNet id a file name starts with, else ``""``."""
    match = _WNID.match(Path(path).name)
    return match.group(1) if match else ""


class LabelFinder:
    """Finds labels by the rule above, reading each folder's annotation files once.

    Example:
        >>> LabelFinder().label_for("photos/train/n01443537_0.JPEG", "photos/train")
        'n01443537'
    """

    def __init__(self):
        self._annotations: dict[str, dict[str, str]] = {}

    def _read(self, folder: str) -> dict[str, str]:
        table = self._annotations.get(folder)
        if table is not None:
            return table
        table = {}
        try:
            names = sorted(n for n in os.listdir(folder) if n.endswith("annotations.txt"))
        except OSError:
            names = []
        for name in names:
            try:
                with open(os.path.join(folder, name), encoding="utf-8", errors="replace") as f:
                    for line in f:
                        parts = line.split()
                        if len(parts) >= 2:
                            table.setdefault(parts[0], parts[1])
            except OSError:
                continue
        self._annotations[folder] = table
        return table

    def label_for(self, path, root) -> str:
        """The label of ``path``, a file under the scanned folder ``root``."""
        path = Path(path)
        root = os.path.abspath(os.fspath(root))
        parent = os.path.abspath(path.parent)
        folders = [parent]
        if parent != root and parent.startswith(root):
            folders.append(os.path.dirname(parent))
        for folder in folders:
            label = self._read(folder).get(path.name)
            if label:
                return label
        label = label_from_name(path)
        if label:
            return label
        if parent != root and parent.startswith(root + os.sep):
            return os.path.relpath(parent, root).split(os.sep)[0]
        return ""
