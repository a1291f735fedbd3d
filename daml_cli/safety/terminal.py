"""Printing user-supplied strings (paths, class names, file contents) safely: no rich markup, no control
sequences, and never more than a few dozen characters of a value quoted from input."""

from __future__ import annotations

import re

# C0 controls except none, DEL, and C1 controls (ESC sequences, CSI, OSC ... all start with one of these).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")

QUOTE_LIMIT = 40  # characters of a quoted input value shown in a message
MESSAGE_LIMIT = 10_000  # characters of a whole error line (a backstop: paths are at most 4096 bytes)


def plain(text: object) -> str:
    """`text` with every control character shown as ``\\xNN`` (so ESC never reaches the terminal)."""
    return _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", str(text))


def for_rich(text: object) -> str:
    """`text` made safe for a rich console: control characters shown as ``\\xNN``, markup escaped."""
    from rich.markup import escape

    return escape(plain(text))


def cut(text: str, limit: int) -> str:
    """`text` when at most `limit` characters long, else its first `limit` characters and how many were left out."""
    return text[:limit] + _left_out(len(text) - limit)


def quote(value: object, limit: int = QUOTE_LIMIT) -> str:
    """`value` as it goes into a message that quotes input: a string in single quotes, anything else as its
    ``repr``; at most `limit` characters of it, control characters as ``\\xNN``.

    The one function every message quoting a value read from a file, a request or an argument goes through, so a
    crafted input (a 1 GiB line of NUL bytes) yields a short line, not gigabytes of stderr. The value is cut
    before it is escaped (escaping a huge value first would itself take gigabytes), and a non-string's ``repr``
    is built by `reprlib` (so a huge list is never turned into text either).
    """
    if isinstance(value, str):
        return f"'{plain(value[:limit])}'" + _left_out(len(value) - limit)
    text = _short_repr(value, limit)
    return plain(text[:limit]) + _left_out(len(text) - limit)


def _left_out(count: int) -> str:
    return f"… ({count:,} more characters)" if count > 0 else ""


def _short_repr(value: object, limit: int) -> str:
    """A ``repr`` of `value` that never builds a huge string (`reprlib` cuts long strings, lists and numbers)."""
    import reprlib

    shortener = reprlib.Repr()
    shortener.maxlevel, shortener.maxlist, shortener.maxtuple, shortener.maxdict = 3, 8, 8, 8
    shortener.maxstring = shortener.maxother = shortener.maxlong = max(limit, 8)
    return shortener.repr(value)
