"""Small text helpers shared by the scorers (tokens, links, normalisation)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

URL_RE = re.compile(r"https?://[^\s<>\"')\]]+", re.IGNORECASE)
WORD_RE = re.compile(r"[^\W\d_][\w'’-]*", re.UNICODE)
HANDLE_RE = re.compile(r"(?<![\w@])@[\w.]+")
HASHTAG_RE = re.compile(r"(?<![\w#])#\w+")

# A deliberately small English stop list: enough to keep "the" and "and" out of spike
# explanations without hiding campaign words (a long list would drop e.g. "against").
_STOP = """a about after all also am an and any are as at be been but by can could did do does for
from had has have he her his how i if in into is it its just me more my no not of on or our out
over she so some than that the their them then there these they this those to too up us very was
we were what when where which who why will with would you your rt via amp"""
STOPWORDS = frozenset(_STOP.split())


def urls_in(text: str) -> list[str]:
    return URL_RE.findall(text)


def strip_urls(text: str) -> str:
    return URL_RE.sub(" ", text)


def normalise_link(url: str) -> str:
    """Scheme, ``www.``, query string, fragment and trailing slash dropped: one key per page.

    Query strings are dropped because they mostly carry tracking tags (utm_*), which would split
    one article into many "different" links.
    """
    u = re.sub(r"^https?://", "", url.strip(), flags=re.IGNORECASE)
    u = re.sub(r"^www\.", "", u, flags=re.IGNORECASE)
    u = re.split(r"[?#]", u, maxsplit=1)[0].rstrip("/")
    host, _, path = u.partition("/")
    return host.lower() + ("/" + path if path else "")


def content_words(text: str) -> list[str]:
    """Lower-cased words of 3+ letters, without links, @handles, #tags and stop words."""
    text = HASHTAG_RE.sub(" ", HANDLE_RE.sub(" ", strip_urls(text)))
    words = (w.lower().strip("'’-") for w in WORD_RE.findall(text))
    return [w for w in words if len(w) >= 3 and w not in STOPWORDS]


def all_links(text: str, links: Iterable[str]) -> set[str]:
    """Links given by the source plus any in the text, normalised and de-duplicated."""
    return {normalise_link(u) for u in [*links, *urls_in(text)] if u.strip()}


# Words inside a hashtag or handle: "DonaldTrump" -> Donald, Trump; "USAToday" -> USA, Today;
# "trump2016" -> trump, 2016; "fund_the_riverline" -> fund, the, riverline.
_COMPOUND_PART_RE = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+|[^\W\d_]+")


def split_compound(tag: str) -> list[str]:
    """The words of a hashtag or handle body, split at case changes, digits and underscores.

    Only the writer's own capitals can split "DonaldTrump"; an all-lower-case "donaldtrump" stays
    one word (guessing word breaks in it would invent matches).
    """
    return _COMPOUND_PART_RE.findall(tag.lstrip("#@"))


def fold_accents(text: str) -> str:
    """``text`` without accents ("Pérez" -> "Perez"); ASCII text is returned as it is (fast path).

    Compatibility decomposition (NFKD) also maps look-alike forms (full-width letters, ligatures)
    to plain ones, so fancy-font names match too.
    """
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))
