"""The public labelled data sets the quality harness reads, where each comes from, and its licence.

None of them ships with the project (their licences or Twitter's terms do not allow it, and they
are large): put them in one folder, laid out as each :class:`Source` says, and point
``buzz eval --data`` at it. A loader raises :class:`MissingData` naming the set and how to get it
when its files are not there.
"""

from __future__ import annotations

import csv
import html
import io
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Source:
    key: str
    title: str
    folder: str  # where it goes inside the data folder
    origin: str  # repository @ commit and path it was copied from
    licence: str
    get: str  # how to get it


@dataclass(frozen=True)
class Example:
    text: str
    label: str
    group: str = ""  # topic, debate side or stance target


class MissingData(Exception):
    def __init__(self, source: Source, path: Path) -> None:
        super().__init__(f"{source.title}: {path} not found. Get it: {source.get}")
        self.source = source
        self.path = path


TWEETEVAL = Source(
    "tweeteval",
    "TweetEval (sentiment = SemEval-2017 Task 4A test; stance = SemEval-2016 Task 6)",
    "tweeteval",
    "github.com/cardiffnlp/tweeteval @ 4fbd22cd78421f05b1ecdb4fc5725bc7a7bd8f66, datasets/",
    "released without restrictions (repository README); tweets under Twitter's terms; stance "
    "tweets also under the SemEval-2016 Task 6 terms",
    "copy datasets/sentiment and datasets/stance of github.com/cardiffnlp/tweeteval into "
    "DATA/tweeteval/ (keeping those two folder names)",
)
DEBATE08 = Source(
    "debate08",
    "2008 presidential debate tweets rated by Mechanical Turk workers (Diakopoulos & Shamma 2010)",
    "debate08",
    "github.com/CLaraRR/twitter-sentiment-dataset @ d8b7d358ce88ae08dfe722e15b38f9e0a4b7f18e, "
    "data/shamma/orig/debate08_sentiment_tweets.tsv",
    "CC BY-NC-SA 3.0 (file header): used for evaluation only, never for the shipped weights",
    "copy data/shamma/orig/debate08_sentiment_tweets.tsv of "
    "github.com/CLaraRR/twitter-sentiment-dataset into DATA/debate08/",
)
SEMEVAL2017 = Source(
    "semeval2017",
    "SemEval-2017 Task 4 English (2013-2016 training data and the 2017 test set, with gold labels)",
    "semeval2017",
    "github.com/FireBrother/assignment @ dce1476dba0acb66bb6f2aa368eca5085f51fdbe, "
    "语义计算与知识检索/hw2/ (copies of the organisers' 2017_English_final and "
    "SemEval2017-task4-test archives)",
    "annotations CC BY 3.0 (organisers' README); tweets under Twitter's terms",
    "copy the folders 2017_English_final/GOLD and SemEval2017-task4-test of the organisers' "
    "archives (alt.qcri.org/semeval2017/task4, data and tools; or the copy in the repository "
    "above) into DATA/semeval2017/, keeping their names",
)
UKPCONVARG1 = Source(
    "ukpconvarg1",
    "UKPConvArg1 convincingness ranks of 1,052 web debate-forum posts (Habernal & Gurevych 2016)",
    "ukpconvarg1",
    "github.com/UKPLab/acl2016-convincing-arguments @ ca9d24e41b8805ff2e1d3585d552b49bb64a65f7, "
    "data/UKPConvArg1-Ranking-CSV/ and data/UKPConvArg1Strict-CSV/",
    "CC BY 4.0",
    "copy the folders data/UKPConvArg1-Ranking-CSV and data/UKPConvArg1Strict-CSV of "
    "github.com/UKPLab/acl2016-convincing-arguments into DATA/ukpconvarg1/",
)
SOURCES = (TWEETEVAL, DEBATE08, SEMEVAL2017, UKPCONVARG1)

SENTIMENT_LABELS = ("negative", "neutral", "positive")  # TweetEval's 0, 1, 2
STANCE_LABELS = ("none", "against", "favor")


def _need(source: Source, path: Path) -> Path:
    if not path.exists():
        raise MissingData(source, path)
    return path


def _lines(path: Path) -> list[str]:
    return path.read_text("utf-8").splitlines()


def tweeteval_sentiment(data: Path, split: str = "test") -> list[Example]:
    """TweetEval sentiment ``split`` (val or test: its train texts are not public any more)."""
    folder = _need(TWEETEVAL, data / TWEETEVAL.folder / "sentiment")
    texts = _lines(_need(TWEETEVAL, folder / f"{split}_text.txt"))
    labels = _lines(folder / f"{split}_labels.txt")
    return [
        Example(t.strip(), SENTIMENT_LABELS[int(y)]) for t, y in zip(texts, labels, strict=True)
    ]


def tweeteval_stance(data: Path, target: str) -> list[Example]:
    """All splits of one TweetEval stance target (e.g. ``hillary``), labelled none/against/favor."""
    folder = _need(TWEETEVAL, data / TWEETEVAL.folder / "stance" / target)
    out = []
    for split in ("train", "val", "test"):
        texts = _lines(folder / f"{split}_text.txt")
        labels = _lines(folder / f"{split}_labels.txt")
        for t, y in zip(texts, labels, strict=True):
            out.append(Example(t.replace("#SemST", "").strip(), STANCE_LABELS[int(y)], target))
    return out


_RATING = {"1": "negative", "2": "positive", "3": "mixed", "4": "other"}


def debate08(data: Path, agreement: float = 2 / 3) -> list[Example]:
    """Debate tweets whose raters agree: the most common rating, if given by ``agreement`` of them.

    The file has a licence header (lines starting with #) and tweets with line breaks inside
    quotes, with CR line ends.
    """
    path = _need(DEBATE08, data / DEBATE08.folder / "debate08_sentiment_tweets.tsv")
    raw = path.read_text("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    rows = csv.reader(io.StringIO(raw[raw.index("tweet.id\t") :]), delimiter="\t")
    next(rows)
    out = []
    for row in rows:
        ratings = [r for r in row[5:] if r in _RATING]
        if not ratings:
            continue
        top, n = Counter(ratings).most_common(1)[0]
        if n / len(ratings) >= agreement:
            out.append(Example(row[2].strip(), _RATING[top]))
    return out


_ESCAPE_RE = re.compile(r"\\u([0-9a-fA-F]{4})")


def _tweet_text(raw: str) -> str:
    # The organisers' files escape some characters (\u2019, \u002c) and keep HTML entities.
    return html.unescape(_ESCAPE_RE.sub(lambda m: chr(int(m.group(1), 16)), raw)).strip()


def _semeval_rows(path: Path) -> Iterator[list[str]]:
    for line in _lines(path):
        cols = line.split("\t")
        if len(cols) >= 3 and cols[0].strip().isdigit():
            yield cols


SEMEVAL_TRAIN_FILES = (
    "twitter-2013train-A.txt", "twitter-2013dev-A.txt", "twitter-2013test-A.txt",
    "twitter-2014test-A.txt", "twitter-2014sarcasm-A.txt", "twitter-2015train-A.txt",
    "twitter-2015test-A.txt", "twitter-2016train-A.txt", "twitter-2016dev-A.txt",
    "twitter-2016devtest-A.txt", "twitter-2016test-A.txt",
)  # fmt: skip


def semeval_train(data: Path, files: tuple[str, ...] = SEMEVAL_TRAIN_FILES) -> list[Example]:
    """SemEval 2013-2016 Task 4A tweets (the 2017 training pool), duplicates by id removed.

    ``group`` is the file the tweet came from, so a script can hold one out for tuning.
    """
    folder = data / SEMEVAL2017.folder / "2017_English_final" / "GOLD" / "Subtask_A"
    seen: set[str] = set()
    out = []
    for name in files:
        for cols in _semeval_rows(_need(SEMEVAL2017, folder / name)):
            tweet_id, label, text = cols[0], cols[1], _tweet_text(cols[2])
            if tweet_id in seen or label not in SENTIMENT_LABELS or not text:
                continue
            seen.add(tweet_id)
            out.append(Example(text, label, name))
    return out


def semeval2017_topics(data: Path) -> list[Example]:
    """The 2017 Task 4B test set: tweets about a named topic, labelled positive or negative."""
    path = data / SEMEVAL2017.folder / "SemEval2017-task4-test"
    path = _need(SEMEVAL2017, path / "SemEval2017-task4-test.subtask-BD.english.txt")
    return [
        Example(_tweet_text(c[3]), c[2], c[1].lower())
        for c in _semeval_rows(path)
        if len(c) >= 4 and c[2] in ("positive", "negative")
    ]


def ukpconvarg1(data: Path) -> list[Example]:
    """Forum posts, labelled ``top``/``middle``/``bottom`` third of convincingness in their debate.

    ``group`` is the debate and side (one ranking file); ranks compare posts within one file only.
    """
    folder = _need(UKPCONVARG1, data / UKPCONVARG1.folder / "UKPConvArg1-Ranking-CSV")
    out = []
    for path in sorted(folder.glob("*.csv")):
        ranked = []
        for line in _lines(path):
            cols = line.split("\t")
            if len(cols) == 3 and not line.startswith("#"):
                text = _ukp_text(cols[2])
                ranked.append((float(cols[1]), cols[0], text))
        # The file's score is lowest for the most convincing post (checked by reading them: the
        # jokes and one-liners carry the highest scores).
        ranked.sort(key=lambda r: (r[0], r[1]))
        n = len(ranked)
        for i, (_, _, text) in enumerate(ranked):
            third = "top" if i < n / 3 else ("bottom" if i >= 2 * n / 3 else "middle")
            out.append(Example(text, third, path.stem))
    if not out:
        raise MissingData(UKPCONVARG1, folder / "*.csv")
    return out


def _ukp_text(raw: str) -> str:
    return html.unescape(raw.replace("<br/>", "\n")).strip()


@dataclass(frozen=True)
class Pair:
    better: str
    worse: str
    group: str  # debate and side


def ukpconvarg1_pairs(data: Path) -> list[Pair]:
    """UKPConvArg1Strict: pairs of posts of one debate side where workers agreed which convinces."""
    folder = _need(UKPCONVARG1, data / UKPCONVARG1.folder / "UKPConvArg1Strict-CSV")
    out = []
    for path in sorted(folder.glob("*.csv")):
        for line in _lines(path):
            cols = line.split("\t")
            if len(cols) != 4 or line.startswith("#") or cols[1] not in ("a1", "a2"):
                continue
            a1, a2 = _ukp_text(cols[2]), _ukp_text(cols[3])
            better, worse = (a1, a2) if cols[1] == "a1" else (a2, a1)
            out.append(Pair(better, worse, path.stem))
    if not out:
        raise MissingData(UKPCONVARG1, folder / "*.csv")
    return out
