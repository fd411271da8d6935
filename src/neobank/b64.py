"""base64url without padding, as the API uses for keys, challenges and signatures."""

from __future__ import annotations

import base64
import binascii
import re

__all__ = ["b64url_decode", "b64url_encode"]

# The URL-safe alphabet only, optionally padded: Python's decoder would otherwise skip stray
# characters and accept '+' and '/', so two different texts would name the same key.
_B64URL = re.compile(r"[A-Za-z0-9_-]*={0,2}")


def b64url_encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes | None:
    """Decode, tolerating missing padding; None when the text is not base64url."""
    if not _B64URL.fullmatch(text):
        return None
    unpadded = text.rstrip("=")
    if len(unpadded) % 4 == 1 or (text != unpadded and len(text) % 4):
        return None
    try:
        return base64.b64decode(
            unpadded + "=" * (-len(unpadded) % 4), altchars=b"-_", validate=True
        )
    except (binascii.Error, ValueError):
        return None
