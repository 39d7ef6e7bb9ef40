"""The ``mastodon`` connector: one instance's public hashtag timelines (and search) as mentions.

``source.py`` (the connector, registered as ``mastodon``: paging forward with ``min_id``),
``mapping.py`` (statuses to mentions, pure).
"""
