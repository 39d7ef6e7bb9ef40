"""``buzz bench``: the stream core measured end to end, next to its peers and its ceilings.

See :mod:`pipeline.bench.run` for what is measured and how; figures only, nothing asserts a speed.
"""

from pipeline.bench.load import synthetic_mention
from pipeline.bench.run import main

__all__ = ["main", "synthetic_mention"]
