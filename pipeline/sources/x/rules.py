"""Filtered-stream rules and search queries for X, built from the campaign's tracked terms.

Pure functions, no I/O. X matches a rule (and a recent-search query) against its operators:
a bare word, an exact ``"quoted phrase"``, ``@handle`` (mentions), ``#hashtag``; terms are
OR-ed. A rule's value may be at most 512 characters on the self-serve tiers (1024/4096 on
others: ``rule_max_length``), so the terms are packed greedily into as few rules as fit.
Matching is case-insensitive, so terms differing only in case are kept once.
"""

from __future__ import annotations

from collections.abc import Iterable

from pipeline.sources.terms import quote_term

__all__ = ["build_rules", "quote_term"]


def build_rules(terms: Iterable[str], max_length: int = 512, suffix: str = "") -> list[str]:
    """The terms OR-ed into rule values of at most ``max_length`` characters each.

    ``suffix`` (e.g. ``-is:retweet lang:en``) is appended to every rule. A term that cannot fit
    in one rule on its own is a configuration error (ValueError naming it), not silently cut.
    """
    suffix = " ".join(suffix.split())
    tail = f" {suffix}" if suffix else ""
    operands: list[str] = []
    seen: set[str] = set()
    for term in terms:
        if not term.strip():
            continue
        operand = quote_term(term)
        if operand.lower() not in seen:
            seen.add(operand.lower())
            operands.append(operand)
    if not operands:
        raise ValueError("no terms to track")

    def render(group: list[str]) -> str:
        body = " OR ".join(group)
        # Parentheses only when needed: with a suffix, "a OR b -is:retweet" would bind the
        # suffix to b alone.
        if len(group) > 1 and tail:
            body = f"({body})"
        return body + tail

    rules: list[str] = []
    group: list[str] = []
    for operand in operands:
        if len(render([operand])) > max_length:
            raise ValueError(f"term {operand} does not fit in a {max_length}-character rule")
        if group and len(render([*group, operand])) > max_length:
            rules.append(render(group))
            group = []
        group.append(operand)
    rules.append(render(group))
    return rules
