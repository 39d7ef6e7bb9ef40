"""The ``replay`` connector: JSONL or CSV files of any topic, for backfills and history imports.

``source.py`` (the connector, registered as ``replay``: files, offsets, progress, summary),
``parsing.py`` (lines to validated events, pure).
"""
