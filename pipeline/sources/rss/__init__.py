"""The ``rss`` connector: RSS/Atom/RDF news and blog feeds as mentions, comment feeds as thread
activity.

``source.py`` (the connector, registered as ``rss``: conditional GET per feed, per-feed backoff,
checkpoint), ``mapping.py`` (bytes to feed entries to events, pure).
"""
