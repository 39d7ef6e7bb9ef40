"""The ``discourse`` connector: a Discourse forum's public JSON API as thread activity.

``source.py`` (the connector, registered as ``discourse``: topics or posts mode, checkpoint),
``mapping.py`` (posts to thread posts, pure).
"""
