"""Subject matching: case- and accent-insensitive, word boundaries, handles, hashtags, aliases."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from pipeline.campaign import Subject, load_campaign
from pipeline.scoring.subjects import (
    SubjectMatch,
    SubjectMatcher,
    compile_subjects,
    match_subjects,
    subject_ids,
)

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


def _matcher(*subjects: Subject) -> SubjectMatcher:
    return compile_subjects(subjects)


TRUMP = Subject(id="trump", name="Donald Trump", kind="rival", terms=["Donald Trump"])


def test_multi_word_terms_match_joined_hashtags_and_handles() -> None:
    m = _matcher(TRUMP)
    for text in ("#DonaldTrump wins", "#donaldtrump", "#DonaldTrump2016", "@DonaldTrump said",
                 "@realDonaldTrump said", "cc @donald_trump", "#Donald_Trump"):  # fmt: skip
        assert subject_ids(m, text) == ["trump"], text
    assert match_subjects(m, "#DonaldTrump")[0].terms == ("Donald Trump",)
    # A handle with letters or digits run into the name is another account.
    assert subject_ids(m, "@donaldtrumpfan and @donaldtrump2") == []
    assert subject_ids(m, "no words", ["DonaldTrump"]) == ["trump"]  # a source hashtag


def test_single_words_match_words_inside_hashtags_but_not_inside_words() -> None:
    m = _matcher(Subject(id="t", name="T", kind="rival", terms=["Trump"]),
                 Subject(id="rent", name="Rent", kind="issue", terms=["rent"]))  # fmt: skip
    assert subject_ids(m, "#NeverTrump #Trump2016") == ["t"]
    assert subject_ids(m, "#RentStrike now") == ["rent"]
    assert subject_ids(m, "#parenting is hard, the trumpet #currentaffairs") == []
    assert subject_ids(m, "@trump said") == []  # one word is not enough to claim an account


def test_case_accents_and_hyphens_do_not_matter() -> None:
    m = _matcher(
        Subject(id="kju", name="Kim Jong-un", kind="rival", terms=["Kim Jong-un"]),
        Subject(id="nm", name="Nicolás Maduro", kind="rival", terms=["Nicolás Maduro"]),
    )
    assert subject_ids(m, "KIM JONG UN fired a general") == ["kju"]
    assert subject_ids(m, "#KimJongUn") == ["kju"]
    assert subject_ids(m, "nicolas maduro spoke") == ["nm"]
    assert subject_ids(m, "#NicolásMaduro") == ["nm"]
    # The term as written in the campaign file is what is reported.
    assert match_subjects(m, "NICOLAS MADURO")[0].terms == ("Nicolás Maduro",)
    reyes = _matcher(Subject(id="r", name="Dana Reyes", kind="rival", terms=["Dana Reyes"]))
    assert subject_ids(reyes, "Dana Réyes’ plan") == ["r"]


def test_aliases_match_like_terms_and_are_reported_as_written() -> None:
    pence = Subject(id="p", name="Mike Pence", kind="rival", terms=["Mike Pence"],
                    aliases=["Pence", "@VP"])  # fmt: skip
    m = _matcher(pence)
    assert match_subjects(m, "Pence dodged it, says @VP") == [
        SubjectMatch("p", "rival", ("@VP", "Pence"))
    ]
    assert subject_ids(m, "pencil") == []


def test_campaign_file_aliases_are_loaded(tmp_path: Path) -> None:
    f = tmp_path / "c.yaml"
    f.write_text(
        "name: C\nsubjects:\n  - {id: a, name: A B, kind: candidate, terms: [A B], "
        "aliases: [AB, '@ab_official']}\n"
    )
    campaign = load_campaign(f)
    assert campaign.subjects[0].aliases == ["AB", "@ab_official"]
    assert subject_ids(compile_subjects(campaign.subjects), "hi @ab_official") == ["a"]
