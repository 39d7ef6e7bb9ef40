"""``buzz eval``: each judgment's figure on public labelled data, next to a trivial baseline.

- Sentiment: AUC of the score for posts labelled positive against posts labelled negative (the
  chance that a random positive post scores above a random negative one), ours vs plain VADER.
- Substance: AUC for the top third of forum posts by convincingness against the bottom third,
  ours vs the post's length in characters.
- Subjects: precision, recall and F1 of "does this tweet name this person", ours vs exact-name
  matching (the campaign term with only whitespace between its words).
- Speed: texts per second of pure scoring on one core, ours vs VADER.

A set whose files are missing is listed with how to get it; the others still run.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline.evaluation import datasets as ds
from pipeline.evaluation.metrics import auc
from pipeline.evaluation.subjects_eval import subject_rows

# SemEval-2017 Task 4B test topics that name a person in politics, and the other political
# topics (parties, movements, policies, the 2016 election). The rest is sport, film, music, tech.
POLITICIANS = frozenset(
    [
        "#thankyouobama", "@elizabethforma", "ben carson", "comey", "fidel castro",
        "george soros", "kim fatty the third", "kim jong-un", "maduro", "marine le pen",
        "melania speech", "melania trump", "mike pence", "pelosi", "poroshenko", "putin",
        "saakashvili", "steve bannon",
    ]
)  # fmt: skip
POLITICAL_ISSUES = frozenset(
    [
        "#blacklivesmatter", "#draintheswamp", "#hamas", "#hezbollah", "#isis", "#jerusalem",
        "#libya", "#mosuloffensive", "#palestine", "#stillwithher", "#trumptransitionteam",
        "#uniteblue", "#unitednations", "#yemen", "abortion", "aleppo", "alt-rightists",
        "anti-trump riots", "bad hombres", "brexit", "clinton foundation", "conservatives",
        "cuba embargo", "dakota access pipeline", "death penalty", "dems", "deplorables",
        "drone strikes", "electoral college", "euthanasia", "fossil fuels", "fracking",
        "gay marriage", "gold standard", "gun control", "immigration", "kremlintrolls",
        "leftists", "liberals", "medicaid", "medical marijuana", "medicare", "michael moore",
        "minimum wage", "nazi", "obama admin", "obamacare", "popular vote", "rightists",
        "social security", "supremacists", "tpp", "trump cabinet", "trump protest",
        "trump transition", "voter registration", "voter suppression",
        "wall on the mexican border",
    ]
)  # fmt: skip


# Timed when the TweetEval texts are not there: short political posts, our own words.
SAMPLE_TEXTS = (
    "Just got back from the town hall. She answered every question, even the hard ones.",
    "Another glossy mailer, zero details. We deserve better than slogans. #vote",
    "Great, another tax hike. Just what we needed.",
    "Council vote on the transit plan pushed to next month https://example.org/news",
    "He dodged the housing question twice. Disappointing. @reporter",
    "Proud to stand with our candidate on rent! 🙌 #HomesForAll",
    "not buying it, who pays for this???",
    "Packed room at the hearing tonight. People showed up :)",
)


@dataclass(frozen=True)
class Row:
    judgment: str
    dataset: str
    metric: str
    n: int  # labelled items the figure is computed on
    ours: float
    baseline: float
    baseline_name: str


def _auc_row(
    judgment: str,
    dataset: str,
    examples: Sequence[ds.Example],
    pos: str,
    neg: str,
    ours: Callable[[str], float],
    baseline: Callable[[str], float],
    baseline_name: str,
) -> Row:
    used = [e for e in examples if e.label in (pos, neg)]
    p = [e.text for e in used if e.label == pos]
    n = [e.text for e in used if e.label == neg]
    return Row(
        judgment, dataset, f"AUC {pos} > {neg}", len(used),
        auc([ours(t) for t in p], [ours(t) for t in n]),
        auc([baseline(t) for t in p], [baseline(t) for t in n]),
        baseline_name,
    )  # fmt: skip


def sentiment_rows(data: Path) -> tuple[list[Row], list[ds.MissingData]]:
    from pipeline.scoring.sentiment import sentiment, vader_sentiment

    rows: list[Row] = []
    missing: list[ds.MissingData] = []

    def add(name: str, load: Callable[[], list[ds.Example]], pos: str, neg: str) -> None:
        try:
            examples = load()
        except ds.MissingData as exc:
            missing.append(exc)
            return
        rows.append(_auc_row("sentiment", name, examples, pos, neg, sentiment,
                             vader_sentiment, "VADER"))  # fmt: skip

    def topics(keep: frozenset[str]) -> Callable[[], list[ds.Example]]:
        return lambda: [e for e in ds.semeval2017_topics(data) if e.group in keep]

    add("SemEval-2017 4B test, politicians", topics(POLITICIANS), "positive", "negative")
    add("SemEval-2017 4B test, all politics", topics(POLITICIANS | POLITICAL_ISSUES),
        "positive", "negative")  # fmt: skip
    add("2008 debate tweets (raters agree)", lambda: ds.debate08(data), "positive", "negative")
    add("TweetEval stance: Hillary (favor > against)",
        lambda: ds.tweeteval_stance(data, "hillary"), "favor", "against")  # fmt: skip
    add("TweetEval sentiment test (all topics)", lambda: ds.tweeteval_sentiment(data),
        "positive", "negative")  # fmt: skip
    return rows, missing


def substance_rows(data: Path) -> tuple[list[Row], list[ds.MissingData]]:
    from pipeline.scoring.conversation import substance_score
    from pipeline.scoring.substance_model import held_out

    try:
        posts = ds.ukpconvarg1(data)
    except ds.MissingData as exc:
        return [], [exc]
    held = [e for e in posts if held_out(e.group)]
    row = _auc_row(
        "substance", "UKPConvArg1, debates held out of training", held, "top", "bottom",
        substance_score, lambda t: float(len(t)), "length (characters)",
    )  # fmt: skip
    return [row], []


def speed_rows(texts: Sequence[str], seconds: float = 3.0) -> list[Row]:
    """Texts per CPU second of scoring alone, one thread, the median of three timed passes.

    CPU time (not wall time) of this process, so other work on a shared machine does not count.
    """
    from pipeline.scoring.sentiment import fresh_scorer, vader_sentiment

    texts = list(texts)
    model = fresh_scorer()

    def rate(fn: Callable[[str], object]) -> float:
        fn(texts[0])  # warm up (builds the analyser)
        rates = []
        for _ in range(3):
            start, done = time.process_time(), 0
            while time.process_time() - start < seconds / 3:
                for t in texts[done % len(texts) : done % len(texts) + 500]:
                    fn(t)
                done += 500
            rates.append(done / (time.process_time() - start))
        return sorted(rates)[1]

    return [
        Row("speed", f"sentiment, {len(texts)} tweets cycled", "texts per CPU second", len(texts),
            rate(lambda t: model.analyse(t)), rate(vader_sentiment), "VADER"),
    ]  # fmt: skip


def run(data: Path, *, speed: bool = True) -> tuple[list[Row], list[ds.MissingData]]:
    rows: list[Row] = []
    missing: list[ds.MissingData] = []
    for part in (sentiment_rows, substance_rows, subject_rows):
        r, m = part(data)
        rows += r
        missing += m
    if speed:
        try:
            texts = [e.text for e in ds.tweeteval_sentiment(data)]
        except ds.MissingData:
            texts = list(SAMPLE_TEXTS)
        rows += speed_rows(texts)
    return rows, missing


def _fmt(v: float, metric: str) -> str:
    if math.isnan(v):
        return "n/a"
    return f"{v:,.0f}" if "texts per" in metric else f"{v:.3f}"


def main(data: Path, *, speed: bool = True) -> int:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not console.is_terminal:
        console = Console(width=200)  # a pipe or a file: never squeeze the figures
    rows, missing = run(data, speed=speed)
    table = Table(title=f"Quality on public labelled data ({data})")
    for col in ("judgment", "data set", "figure", "n", "ours", "baseline", "which baseline"):
        table.add_column(col, justify="right" if col in ("n", "ours", "baseline") else "left")
    for r in rows:
        table.add_row(r.judgment, r.dataset, r.metric, f"{r.n:,}", _fmt(r.ours, r.metric),
                      _fmt(r.baseline, r.metric), r.baseline_name)  # fmt: skip
    console.print(table)
    console.print("\nData sets (source, licence, how to get them):")
    for s in ds.SOURCES:
        state = "MISSING" if any(m.source is s for m in missing) else "found"
        console.print(f"- ({state}) {s.title}\n  from {s.origin}\n  licence: {s.licence}\n"
                      f"  get it: {s.get}", highlight=False, markup=False)  # fmt: skip
    for m in dict.fromkeys(str(m) for m in missing):
        console.print(f"skipped: {m}", style="yellow", highlight=False, markup=False)
    return 0 if rows else 2
