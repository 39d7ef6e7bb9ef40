"""The ``bluesky`` connector: ``app.bsky.feed.searchPosts`` on a public AppView as mentions.

``source.py`` (the connector, registered as ``bluesky``: searches, audiences, checkpoint),
``mapping.py`` (post views to mentions, pure).
"""
