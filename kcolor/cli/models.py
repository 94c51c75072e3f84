"""``kcolor models``: list the presets (the default marked), as a table or as JSON.

Example:

>>> from kcolor.cli import build_parser
>>> build_parser().parse_args(["models", "--json"]).json
True
"""

from __future__ import annotations

import json

from kcolor.cli.common import PROG


def add_parser(sub):
    """Add ``kcolor models`` to the subparsers ``sub``; return its parser."""
    p = sub.add_parser(
        "models",
        help="list the presets, the default marked",
        description="List kcolor's presets: name, network, input size, installed or not, and "
        "what each is for; --json adds the `kcolor train` command that made it.",
    )
    p.add_argument("--json", action="store_true", help="machine-readable, with commands")
    return p


def run(args) -> int:
    """Run ``kcolor models`` with the parsed ``args``; return the exit status."""
    from kcolor import presets

    rows = []
    for name in presets.preset_names():
        try:
            rows.append(presets.describe(name))
        except Exception as err:  # noqa: BLE001 - list the others, name the broken one
            rows.append(
                {
                    "name": name,
                    "default": name == presets.DEFAULT_PRESET,
                    "description": f"(unreadable: {err})",
                    "installed": False,
                }
            )
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    table = []
    for r in rows:
        net = (r.get("builder") or "?") + (f"+{r['embedder']}" if r.get("embedder") else "")
        state = "installed" if r["installed"] else "download"
        label = r["name"] + (" (default)" if r["default"] else "")
        table.append((label, net, str(r.get("input_size") or "any"), state, r["description"]))
    head = ("NAME", "NETWORK", "SIZE", "STATUS", "DESCRIPTION")
    widths = [max(len(t[i]) for t in [head, *table]) for i in range(4)]
    for row in [head, *table]:
        print("  ".join(c.ljust(w) for c, w in zip(row[:4], widths, strict=True)) + "  " + row[4])
    print(
        f"\nThe default is {presets.DEFAULT_PRESET}. `{PROG} models --json` shows the "
        f"`{PROG} train` command that made each."
    )
    return 0
