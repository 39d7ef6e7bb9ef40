"""Match a post to the tracked subjects it talks about, by the campaign's terms.

Matching is case-insensitive and word-boundary aware: "rent" matches "Rent is too high" and
"#rent" but not "current"; "@jordankim" matches the handle but not "x@jordankim.org" or
"@jordankim2". A hashtag given by the source ("kimforsenate") is matched as "#kimforsenate", so
it hits both a "#KimForSenate" term and a plain one-word term such as "Riverline".
Regexes are compiled once per campaign (:func:`compile_subjects`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pipeline.campaign import Subject


@dataclass(frozen=True)
class SubjectPattern:
    subject_id: str
    kind: str
    regex: re.Pattern[str]
    # normalised matched text -> the term as written in the campaign file
    terms: dict[str, str]


@dataclass(frozen=True)
class SubjectMatcher:
    patterns: tuple[SubjectPattern, ...]


@dataclass(frozen=True)
class SubjectMatch:
    subject_id: str
    kind: str
    terms: tuple[str, ...]  # campaign terms that matched, sorted


def _norm(s: str) -> str:
    return " ".join(s.lower().split())


def _term_regex(term: str) -> str:
    t = term.strip()
    # Words may be separated by any run of whitespace ("light   rail" == "light rail").
    body = r"\s+".join(re.escape(part) for part in t.split())
    # Handles and tags carry their sigil; plain terms must not be part of a handle
    # (so "kim" does not match "@kim"), but may be a hashtag ("#rent" talks about rent).
    before = r"(?<![\w@#])" if t[:1] in "@#" else r"(?<![\w@])"
    return before + body + r"(?![\w])"


def compile_subjects(subjects: Iterable[Subject]) -> SubjectMatcher:
    """Build one case-insensitive regex per subject from its terms (do this once per campaign)."""
    patterns = []
    for s in subjects:
        terms = {_norm(t): t for t in s.terms if t.strip()}
        # Longest first so "light rail line" wins over "light rail" in the alternation.
        alts = sorted(terms.values(), key=len, reverse=True)
        rx = re.compile("|".join(f"(?:{_term_regex(t)})" for t in alts), re.IGNORECASE)
        patterns.append(SubjectPattern(s.id, s.kind, rx, terms))
    return SubjectMatcher(tuple(patterns))


def match_subjects(
    matcher: SubjectMatcher, text: str, hashtags: Sequence[str] = ()
) -> list[SubjectMatch]:
    """Subjects the text and the source's hashtags (with or without '#') mention, campaign order."""
    tag_text = " ".join("#" + h.lstrip("#") for h in hashtags if h.strip("# "))
    haystack = f"{text}\n{tag_text}" if tag_text else text
    found = []
    for p in matcher.patterns:
        hits = {p.terms.get(_norm(m.group(0)), m.group(0)) for m in p.regex.finditer(haystack)}
        if hits:
            found.append(SubjectMatch(p.subject_id, p.kind, tuple(sorted(hits))))
    return found


def subject_ids(matcher: SubjectMatcher, text: str, hashtags: Sequence[str] = ()) -> list[str]:
    """Just the ids of :func:`match_subjects`."""
    return [m.subject_id for m in match_subjects(matcher, text, hashtags)]
