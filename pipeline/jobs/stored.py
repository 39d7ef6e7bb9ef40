"""Mentions read back from the warehouse as the event the scorers take.

The raw table holds exactly what the event carried (validated when it was written), so a stored
row turns back into the same Mention without validating it again.
"""

from __future__ import annotations

from pipeline.events import Author, Engagement, Mention
from pipeline.stream.reader import as_utc
from pipeline.tables import MentionRow


def mention_from_row(r: MentionRow) -> Mention:
    author = Author.model_construct(
        id=r.author_id,
        handle=r.author_handle,
        display_name=r.author_name,
        audience=r.author_audience,
        cut=[],
    )
    engagement = Engagement.model_construct(
        likes=r.likes, reshares=r.reshares, replies=r.replies, quotes=r.quotes
    )
    return Mention.model_construct(
        schema_version=1,
        event_id=r.event_id,
        platform=r.platform,
        occurred_at=as_utc(r.occurred_at),
        ingested_at=as_utc(r.ingested_at),
        author=author,
        text=r.text,
        url=r.url,
        lang=r.lang,
        engagement=engagement,
        reshare_of=r.reshare_of,
        reply_to=r.reply_to,
        links=list(r.links),
        hashtags=list(r.hashtags),
        truncated=list(r.truncated),
    )
