"""What the connectors search for: the campaign's tracked terms, quoted for search syntaxes.

X's filtered stream and recent search and Bluesky's ``searchPosts`` read a query the same way
for what we need: bare words, an exact ``"quoted phrase"``, ``@handle`` and ``#hashtag``.
"""

from __future__ import annotations

import re

from pipeline.campaign import load_campaign
from pipeline.settings import Settings

__all__ = ["campaign_terms", "quote_term"]

# A term needs quotes when it is more than one token or holds characters read as syntax.
_BARE = re.compile(r"^[@#$]?[\w'.-]+$")


def campaign_terms(settings: Settings) -> list[str]:
    """Every tracked term of every subject of the campaign (``BUZZ_CAMPAIGN_FILE``), in order."""
    return [t for s in load_campaign(settings.campaign_file).subjects for t in s.terms]


def quote_term(term: str) -> str:
    """One term as a query operand: ``@h`` and ``#t`` as they are, phrases in quotes."""
    term = " ".join(term.split())
    if not term:
        raise ValueError("empty term")
    if _BARE.match(term) and term.upper() not in ("OR", "AND"):
        return term
    return '"' + term.replace("\\", "\\\\").replace('"', '\\"') + '"'
