"""``buzz bench dashboard``: every query the dashboard's pages run, timed over a seeded warehouse.

``seed_mentions`` and ``seed_others`` fill a throw-away embedded warehouse inside the warehouse
itself (``INSERT ... SELECT`` from ``numbers()``), ``plan`` lists each page's queries with the
parameters its filters offer, and ``run`` starts the warehouse, seeds it, times the plan and prints
the table.
"""
