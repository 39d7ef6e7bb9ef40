"""Subject matching: case-insensitive, word-boundary aware, handles and hashtags."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pipeline.campaign import Subject, load_campaign
from pipeline.scoring.subjects import compile_subjects, match_subjects, subject_ids

MATCHER = compile_subjects(load_campaign().subjects)  # the demo campaign


def test_plain_terms_match_case_insensitively_with_flexible_spaces() -> None:
    found = match_subjects(MATCHER, "JORDAN   kim rode the Light Rail today")
    assert [(m.subject_id, m.kind, m.terms) for m in found] == [
        ("kim", "candidate", ("Jordan Kim",)),
        ("transit", "issue", ("light rail",)),
    ]


def test_word_boundaries_exclude_substrings() -> None:
    assert subject_ids(MATCHER, "the current situation, renting is hard") == []
    assert subject_ids(MATCHER, "Rent is too high") == ["housing"]


def test_handles_match_only_whole_handles() -> None:
    assert subject_ids(MATCHER, "thanks @JordanKim!") == ["kim"]
    assert subject_ids(MATCHER, "mail x@jordankim.org") == []
    assert subject_ids(MATCHER, "@jordankim2 is a parody") == []


def test_hashtags_in_text_and_from_the_source() -> None:
    assert subject_ids(MATCHER, "Vote! #KimForSenate") == ["kim"]
    # A source hashtag hits a '#' term and a one-word plain term; '#' is optional.
    assert subject_ids(MATCHER, "no words", ["kimforsenate", "#Riverline"]) == ["kim", "transit"]
    assert subject_ids(MATCHER, "#rent is up again") == ["housing"]


def test_plain_terms_do_not_match_inside_handles() -> None:
    matcher = compile_subjects([Subject(id="kim", name="Kim", kind="issue", terms=["Kim"])])
    assert subject_ids(matcher, "@kim said hi") == []
    assert subject_ids(matcher, "Kim said hi") == ["kim"]


def test_longest_term_is_reported() -> None:
    matcher = compile_subjects(
        [Subject(id="t", name="T", kind="issue", terms=["light rail", "light rail line"])]
    )
    assert match_subjects(matcher, "the light rail line opens")[0].terms == ("light rail line",)


@given(st.text(max_size=200), st.sampled_from(["Riverline", "Dana Reyes", "zoning"]))
def test_a_term_surrounded_by_spaces_always_matches(noise: str, term: str) -> None:
    assert subject_ids(MATCHER, f"{noise} {term.upper()} {noise}")


@given(st.text(max_size=300))
def test_matching_never_fails_and_returns_known_ids(text: str) -> None:
    ids = subject_ids(MATCHER, text, [text[:20]])
    assert set(ids) <= {"kim", "reyes", "transit", "housing"}
