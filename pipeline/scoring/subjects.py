"""Match a post to the tracked subjects it names, by the campaign's terms, as people write them.

- Case and accents do not matter: "dana reyes", "DANA REYES" and "Dana Réyes" all match the term
  "Dana Reyes"; spaces and hyphens inside a term are interchangeable ("Kim Jong Un" matches
  "Kim Jong-un").
- Plain terms match whole words: "rent" matches "Rent is too high" but not "current" or
  "renting". They do not match inside a handle ("@kim" is someone's account, not the word Kim).
- Hashtags are read as the words their writer joined: a term matches a hashtag when its words,
  run together, are a run of the tag's words (split at capitals, digits and underscores). So
  "Donald Trump" matches "#DonaldTrump", "#donaldtrump", "#DonaldTrump2016" and "#Trump" matches
  nothing new, while "Trump" matches "#NeverTrump" and "#Trump2016", and "rent" matches
  "#RentStrike" but not "#parenting".
- Handles match a term of two or more words when the handle is the term run together
  ("@DonaldTrump", "@mike_pence") or has the term's words marked by capitals or underscores
  ("@realDonaldTrump", "@Mike_Pence_VP"). A handle with more letters or digits run into the name
  ("@jordankim2") is another account and does not match.
- Terms starting with "@" or "#" match that exact handle or tag only.
- A subject's ``aliases`` (nicknames, other handles, surnames) match exactly like its terms.

Hashtags given by the source (with or without '#') are read like hashtags in the text.
Everything that can be is prepared once per campaign (:func:`compile_subjects`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from pipeline.campaign import Subject
from pipeline.scoring._text import HANDLE_RE, HASHTAG_RE, fold_accents, split_compound

_WORD_SPLIT_RE = re.compile(r"[\s\-‐‑–]+")
_SEP = r"[\s\-‐‑–]+"  # what may stand between the words of a term in running text


@dataclass(frozen=True)
class SubjectPattern:
    subject_id: str
    kind: str
    regex: re.Pattern[str] | None  # terms in running text (None: the subject has none there)
    # normalised matched text -> the term as written in the campaign file
    terms: dict[str, str]
    # a piece of every term (its first word, folded) that must be in the text for the regex to
    # have a chance: most posts name few subjects, and a substring test costs far less than a scan
    needles: tuple[str, ...] = ()


@dataclass(frozen=True)
class SubjectMatcher:
    patterns: tuple[SubjectPattern, ...]
    # run of hashtag words, joined ("donaldtrump") -> (pattern position, term as written)
    tag_words: dict[str, tuple[tuple[int, str], ...]]
    # a whole handle without "_" ("mikepence"), or a run of its marked words joined by " "
    # ("donald trump") -> (pattern position, term as written); terms of two or more words only
    handle_words: dict[str, tuple[tuple[int, str], ...]]
    # what each hashtag or handle resolves to, remembered: a campaign's tags recur in most posts
    resolved: dict[str, tuple[tuple[int, str], ...]] = field(
        default_factory=dict, compare=False, repr=False
    )


@dataclass(frozen=True)
class SubjectMatch:
    subject_id: str
    kind: str
    terms: tuple[str, ...]  # campaign terms (or aliases) that matched, sorted


def _fold(s: str) -> str:
    return fold_accents(s.replace("’", "'")).lower()


def _norm(s: str) -> str:
    """Key of a matched or written term: folded, words separated by one space."""
    return " ".join(_WORD_SPLIT_RE.split(_fold(s).strip()))


def _term_regex(term: str) -> str:
    # The boundary before a term is checked by a look-behind placed *after* its first literal:
    # a pattern that starts with a literal lets the regex engine skip ahead to where that literal
    # occurs, which made matching several times faster than a leading look-behind.
    t = _fold(term).strip()
    if t[:1] in "@#":
        lit = re.escape(t)
        return lit + rf"(?<![\w@#]{lit})" + r"(?![\w])"
    parts = [re.escape(part) for part in _WORD_SPLIT_RE.split(t) if part]
    # Plain terms must not be part of a handle (so "kim" does not match "@kim"), but may be a
    # hashtag ("#rent" talks about rent).
    first = parts[0] + rf"(?<![\w@]{parts[0]})"
    return "".join([first, *(_SEP + part for part in parts[1:])]) + r"(?![\w])"


def compile_subjects(subjects: Iterable[Subject]) -> SubjectMatcher:
    """Prepare matching for a campaign's subjects (do this once per campaign)."""
    patterns = []
    tag_words: dict[str, list[tuple[int, str]]] = {}
    handle_words: dict[str, list[tuple[int, str]]] = {}
    for pos, s in enumerate(subjects):
        written = [t for t in (*s.terms, *s.aliases) if t.strip()]
        terms = {_norm(t): t for t in written}
        # Longest first so "light rail line" wins over "light rail" in the alternation.
        alts = sorted(terms.values(), key=len, reverse=True)
        rx = re.compile("|".join(f"(?:{_term_regex(t)})" for t in alts)) if alts else None
        needles = tuple(sorted({_WORD_SPLIT_RE.split(_fold(t).strip())[0] for t in alts}))
        patterns.append(SubjectPattern(s.id, s.kind, rx, terms, needles))
        for key, term in terms.items():
            if key[:1] in "@#":
                continue
            words = key.split()
            tag_words.setdefault("".join(words), []).append((pos, term))
            if len(words) >= 2:
                handle_words.setdefault("".join(words), []).append((pos, term))
                handle_words.setdefault(" ".join(words), []).append((pos, term))
    return SubjectMatcher(
        tuple(patterns),
        {k: tuple(v) for k, v in tag_words.items()},
        {k: tuple(v) for k, v in handle_words.items()},
    )


def _runs(parts: Sequence[str], sep: str, shortest: int = 1) -> Iterable[str]:
    """Every run of at least ``shortest`` consecutive parts, joined by ``sep``."""
    for i in range(len(parts)):
        for j in range(i + shortest, len(parts) + 1):
            yield sep.join(parts[i:j])


RESOLVED_KEPT = 50_000  # hashtags and handles remembered per campaign


def _resolve(matcher: SubjectMatcher, token: str) -> tuple[tuple[int, str], ...]:
    """The (pattern position, term) pairs one hashtag ("#...") or handle ("@...") names."""
    found = matcher.resolved.get(token)
    if found is not None:
        return found
    hits: list[tuple[int, str]] = []
    if token[:1] == "#":
        words = [w.lower() for w in split_compound(fold_accents(token[1:])) if w]
        for run in _runs(words, ""):
            hits += matcher.tag_words.get(run, ())
    elif matcher.handle_words:
        body = fold_accents(token[1:]).rstrip(".")
        words = [w.lower() for w in split_compound(body) if w]
        for key in {body.replace("_", "").lower(), *_runs(words, " ", shortest=2)}:
            hits += matcher.handle_words.get(key, ())
    found = tuple(hits)
    if len(matcher.resolved) >= RESOLVED_KEPT:
        matcher.resolved.clear()  # a flood of one-off tags: start over rather than grow
    matcher.resolved[token] = found
    return found


def _compound_hits(
    matcher: SubjectMatcher, text: str, hashtags: Sequence[str]
) -> dict[int, set[str]]:
    """Terms found inside hashtags and handles, by pattern position."""
    hits: dict[int, set[str]] = {}
    tokens = [
        *HASHTAG_RE.findall(text),
        *("#" + h.lstrip("#") for h in hashtags if h.strip("# ")),
        *(HANDLE_RE.findall(text) if "@" in text else ()),
    ]
    for token in tokens:
        for pos, term in _resolve(matcher, token):
            hits.setdefault(pos, set()).add(term)
    return hits


def match_subjects(
    matcher: SubjectMatcher, text: str, hashtags: Sequence[str] = ()
) -> list[SubjectMatch]:
    """Subjects the text and the source's hashtags (with or without '#') mention, campaign order."""
    tag_text = " ".join("#" + h.lstrip("#") for h in hashtags if h.strip("# "))
    haystack = _fold(f"{text}\n{tag_text}" if tag_text else text)
    compound = _compound_hits(matcher, text, hashtags) if ("#" in haystack or "@" in text) else {}
    found = []
    for pos, p in enumerate(matcher.patterns):
        hits = set(compound.get(pos, ()))
        if p.regex is not None and any(n in haystack for n in p.needles):
            hits.update(
                p.terms.get(_norm(m.group(0)), m.group(0)) for m in p.regex.finditer(haystack)
            )
        if hits:
            found.append(SubjectMatch(p.subject_id, p.kind, tuple(sorted(hits))))
    return found


def subject_ids(matcher: SubjectMatcher, text: str, hashtags: Sequence[str] = ()) -> list[str]:
    """Just the ids of :func:`match_subjects`."""
    return [m.subject_id for m in match_subjects(matcher, text, hashtags)]
