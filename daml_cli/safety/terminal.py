"""Printing user-supplied strings (paths, class names) safely: no rich markup, no control sequences."""

from __future__ import annotations

import re

# C0 controls except none, DEL, and C1 controls (ESC sequences, CSI, OSC ... all start with one of these).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def plain(text: object) -> str:
    """`text` with every control character shown as ``\\xNN`` (so ESC never reaches the terminal)."""
    return _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", str(text))


def for_rich(text: object) -> str:
    """`text` made safe for a rich console: control characters shown as ``\\xNN``, markup escaped."""
    from rich.markup import escape

    return escape(plain(text))
