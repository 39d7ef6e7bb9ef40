"""The demo campaign simulator, registered as the ``demo`` source (``buzz up --demo``).

``source.py`` (the connector: pacing, backfill, options), ``engine.py`` (the seeded generator and
its ordinary traffic), ``stage.py`` (the world the parts share and the interface they write
through), ``attack.py`` (the scripted attack story), ``forum.py`` (threads), ``signups.py``,
``people.py`` (the population) and ``text.py`` (the words).
"""
