"""The stream core: one consumer path for every input topic.

``consumer`` reads a batch, hands each topic's messages to its processor (``pipeline.processors``:
decode once, validate, derive every row the message produces in one pass), writes the rows
idempotently (``writer``), publishes alerts and dead letters, and only then commits the offsets.
``progress`` tracks how far each partition has got, which ``coordinator`` (the periodic jobs, run
by exactly one worker at a time) waits for before it closes a minute.
"""
