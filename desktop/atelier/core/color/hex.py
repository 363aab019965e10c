"""'#rrggbb' strings: the one parser every request, document and panel uses for typed colours."""

from __future__ import annotations

import re

from atelier.core.errors import InvalidRequestError

_HEX = re.compile(r"^#?([0-9a-fA-F]{6})$")


def normalise_hex(value: str) -> str:
    """'#RRGGBB', 'rrggbb' or ' #rrggbb ' -> '#rrggbb'; anything else is an error that says the format."""
    match = _HEX.match(value.strip()) if isinstance(value, str) else None
    if not match:
        raise InvalidRequestError(f"'{value}' is not a colour; use #rrggbb, e.g. #1b2a41.")
    return "#" + match.group(1).lower()
