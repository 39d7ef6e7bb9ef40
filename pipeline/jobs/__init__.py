"""Periodic jobs: work that spans every partition or that time itself triggers.

They run in exactly one worker at a time (the one that owns ``buzz.mentions`` partition 0, see
``pipeline.stream.coordinator``), each on its own schedule: closing minutes (``minutes``), validator
cascades (``cascades``), questions left unanswered (``questions``) and the buzz -> signup lag
(``lag``). Each keeps its state in the warehouse and reloads it when it starts, so a restart or a
move to another worker resumes where it was.
"""
