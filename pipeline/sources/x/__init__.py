"""The ``x`` connector: X (Twitter) API v2 mentions.

``source.py`` (the connector, registered as ``x``), ``client.py`` (the API: recent search,
stream rules, the filtered stream), ``mapping.py`` (tweets to mentions, pure), ``rules.py`` (the
campaign's terms packed into stream rules and search queries).
"""
