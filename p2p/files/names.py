"""A file's name as it travels: a name only, never a path.

A name from the network that breaks a rule makes its message malformed (refused with a
logged reason); a local file's name is cleaned before it is sent (:func:`clean`).
"""

from __future__ import annotations

import unicodedata

MAX_NAME = 255  # bytes of UTF-8, as most file systems allow


def problem(name: str) -> str | None:
    """Why ``name`` cannot be a file's name, or None."""
    if not name:
        return "the file name is empty"
    if len(name.encode("utf-8", "surrogatepass")) > MAX_NAME:
        return f"the file name is longer than {MAX_NAME} bytes"
    if "\0" in name:
        return "the file name contains NUL"
    if "/" in name or "\\" in name:
        return "the file name contains a path separator"
    if name in (".", "..") or name.strip() in (".", ".."):
        return "the file name is . or .."
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in name):
        return "the file name contains control characters"
    if name != name.strip():
        return "the file name starts or ends with white space"
    return None


def clean(name: str) -> str:
    """A name that follows the rules, made from a local file's name."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    out = "".join(
        "_" if unicodedata.category(c) in ("Cc", "Cs") or c == "\0" else c for c in base
    ).strip()
    if out in ("", ".", ".."):
        out = "file"
    while len(out.encode("utf-8", "surrogatepass")) > MAX_NAME:
        stem, dot, ext = out.rpartition(".")
        if dot and 0 < len(ext) <= 16 and stem:
            out = stem[:-1] + "." + ext
        else:
            out = out[:-1]
    return out
