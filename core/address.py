"""EVM address validation: lowercase `0x` + 40 hex digits, or a clear error naming the value."""

from __future__ import annotations

import re

from eth_utils import is_checksum_address, is_hex_address

from core.errors import InvalidAddress

ADDRESS_RE = re.compile(r"0x[0-9a-fA-F]{40}")
ADDRESS_PATTERN = ADDRESS_RE.pattern


def normalize_address(value: object) -> str:
    """Return the canonical lowercase form of an address, or raise InvalidAddress.

    Mixed-case input must carry a valid EIP-55 checksum: a typo in a checksummed
    address is caught instead of silently naming another wallet.
    """
    if not isinstance(value, str):
        raise InvalidAddress(value, "not a string")
    text = value.strip()
    if not text:
        raise InvalidAddress(value, "empty")
    if not ADDRESS_RE.fullmatch(text) or not is_hex_address(text):
        raise InvalidAddress(value)
    body = text[2:]
    if body != body.lower() and body != body.upper() and not is_checksum_address(text):
        raise InvalidAddress(value, "mixed case with a wrong EIP-55 checksum")
    return text.lower()


def is_address(value: object) -> bool:
    try:
        normalize_address(value)
    except InvalidAddress:
        return False
    return True
