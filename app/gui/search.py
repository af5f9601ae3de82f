"""Search: the words of a query, a hit's text around its first match, and the HTML that
marks every match (in the results and in the chat a result opens)."""

from __future__ import annotations

import html
import re

BEFORE, AFTER = 28, 60  # characters of context around a match in a result


def query_words(query: str) -> list[str]:
    """The words of a query (each one matches a word's start, as the full-text index)."""
    return [w for w in query.split() if w]


def _pattern(words: list[str]) -> re.Pattern[str] | None:
    if not words:
        return None
    alternatives = sorted((re.escape(w) for w in words), key=len, reverse=True)
    return re.compile(r"\b(?:" + "|".join(alternatives) + r")\w*", re.IGNORECASE)


def snippet(text: str, words: list[str]) -> str:
    """One line of ``text`` around its first match: "…before match after…"."""
    flat = " ".join(text.split())
    pattern = _pattern(words)
    m = pattern.search(flat) if pattern else None
    if m is None:
        return flat if len(flat) <= BEFORE + AFTER else flat[:BEFORE + AFTER - 1] + "…"
    start = max(0, m.start() - BEFORE)
    end = min(len(flat), m.end() + AFTER)
    return ("…" if start else "") + flat[start:end] + ("…" if end < len(flat) else "")


def mark(text: str, words: list[str], colour: str) -> str:
    """``text`` as HTML with every match on a ``colour`` background (the rest escaped)."""
    pattern = _pattern(words)
    if pattern is None:
        return html.escape(text)
    out, pos = [], 0
    for m in pattern.finditer(text):
        out.append(html.escape(text[pos:m.start()]))
        out.append(f'<span style="background-color:{colour}">{html.escape(m.group(0))}</span>')
        pos = m.end()
    out.append(html.escape(text[pos:]))
    return "".join(out)


def mark_html(escaped: str, words: list[str], colour: str) -> str:
    """Mark matches inside already escaped HTML, outside its tags (a bubble's links)."""
    pattern = _pattern(words)
    if pattern is None:
        return escaped
    parts = re.split(r"(<[^>]*>)", escaped)
    return "".join(
        part if part.startswith("<") else pattern.sub(
            lambda m: f'<span style="background-color:{colour}">{m.group(0)}</span>', part)
        for part in parts)
