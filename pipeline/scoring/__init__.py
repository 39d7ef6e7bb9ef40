"""Pure scoring functions: plain data in, dataclasses out, no Kafka and no I/O.

One module per job (see docs/scoring.md for every formula and why it is defined that way):

- ``subjects``: which tracked subjects a text names (terms, aliases, hashtags, handles)
- ``sentiment``: offline tone in [-1, 1] and the words that made it negative (``sentiment_model``)
- ``buzz``: per-minute aggregates, share of voice, spikes and attacks
- ``baseline``: the learned normal level per subject and hour of day (serialisable state)
- ``explain``: why a spike happened (terms, hashtags, links, authors, example posts)
- ``validator_reach``: how far a validator's word travelled
- ``conversation``: comment substance (``substance_model``) and thread quality
- ``signups``: attribution and the buzz -> signups lag
- ``alerts``: the Alert record with a deterministic id
"""
