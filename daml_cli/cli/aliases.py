"""Old spellings rewritten before parsing, where a hidden option cannot express them.

`daml retrieve ... --json` used to be a flag that printed JSON; `--json` now takes a PATH (``-`` = stdout),
so a bare ``--json`` (last, or followed by another option) becomes ``--json -``.
"""

from __future__ import annotations

from collections.abc import Sequence

BARE_JSON_COMMANDS = {"retrieve"}


def rewrite_old_spellings(argv: Sequence[str]) -> list[str]:
    args = list(argv)
    if not args or args[0] not in BARE_JSON_COMMANDS:
        return args
    rewritten: list[str] = []
    for position, arg in enumerate(args):
        rewritten.append(arg)
        if arg == "--json":
            following = args[position + 1] if position + 1 < len(args) else None
            if following is None or (following.startswith("-") and following != "-"):
                rewritten.append("-")
    return rewritten
