"""Validators: who spoke, how far their word travelled, who is new, and one post's cascade."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
from clickhouse_connect.driver.client import Client

from dashboard.cascade import CascadeNode, NodeKind
from dashboard.queries.base import TS, Window, utc_columns

_NAMES = """(SELECT validator, name, group_name AS vgroup, trust_weight AS trust
             FROM buzz.validators FINAL)"""


def leaderboard(client: Client, window: Window, limit: int = 25) -> pd.DataFrame:
    """Validators who posted in the window, by trust-weighted cascade reach, best first."""
    df = client.query_df(
        f"""
        SELECT r.validator AS validator, if(v.name = '', r.validator, v.name) AS name,
               if(v.vgroup = '', any(r.group_name), v.vgroup) AS group_name,
               any(r.trust_weight) AS trust_weight, count() AS posts,
               sum(r.trust_weighted_reach) AS trust_weighted_reach,
               sum(r.cascade_audience) AS cascade_audience, sum(r.amplifiers) AS amplifiers,
               max(r.depth) AS max_depth, max(r.taking_off) AS taking_off
        FROM buzz.validator_reach AS r FINAL
        LEFT JOIN {_NAMES} AS v ON v.validator = r.validator
        WHERE r.posted_at >= {{start:{TS}}} AND r.posted_at <= {{end:{TS}}}
        GROUP BY r.validator, v.name, v.vgroup
        ORDER BY trust_weighted_reach DESC, name
        LIMIT {{limit:UInt32}}
        """,
        parameters=window.params() | {"limit": limit},
    )
    return df


def new_validators(client: Client, window: Window) -> pd.DataFrame:
    """Validators whose first post ever (as far as the warehouse knows) is in the window."""
    df = client.query_df(
        f"""
        SELECT f.validator AS validator, if(v.name = '', f.validator, v.name) AS name,
               v.vgroup AS group_name, f.first_post AS first_post, f.url AS url
        FROM (
            SELECT validator, min(posted_at) AS first_post, argMin(url, posted_at) AS url
            FROM buzz.validator_reach FINAL GROUP BY validator
        ) AS f
        LEFT JOIN {_NAMES} AS v ON v.validator = f.validator
        WHERE f.first_post >= {{start:{TS}}} AND f.first_post <= {{end:{TS}}}
        ORDER BY f.first_post DESC
        """,
        parameters=window.params(),
    )
    return utc_columns(df, "first_post")


def validator_posts(client: Client, window: Window, limit: int = 50) -> pd.DataFrame:
    """Validator posts in the window with their cascade figures, furthest-reaching first."""
    df = client.query_df(
        f"""
        SELECT r.root_id AS root_id, if(v.name = '', r.validator, v.name) AS name,
               r.posted_at AS posted_at, r.url AS url, r.posts AS posts, r.depth AS depth,
               r.amplifiers AS amplifiers, r.cascade_audience AS cascade_audience,
               r.trust_weighted_reach AS trust_weighted_reach, r.taking_off AS taking_off
        FROM buzz.validator_reach AS r FINAL
        LEFT JOIN {_NAMES} AS v ON v.validator = r.validator
        WHERE r.posted_at >= {{start:{TS}}} AND r.posted_at <= {{end:{TS}}}
        ORDER BY r.trust_weighted_reach DESC, r.posted_at DESC
        LIMIT {{limit:UInt32}}
        """,
        parameters=window.params() | {"limit": limit},
    )
    return utc_columns(df, "posted_at")


@dataclass(frozen=True)
class Cascade:
    nodes: list[CascadeNode]
    truncated: bool  # more posts exist than were fetched


_NODE_SQL = """
    SELECT event_id, author_handle, author_audience, reshare_of, reply_to, occurred_at, url
    FROM buzz.mentions FINAL
"""
# A post's event_id, reshare_of and reply_to never change, so every stored version of a post
# these lookups select (through the bloom indexes of migration 0030) is selected too, and FINAL
# need not read the whole key range around each selected granule to find other versions (the
# exact mode of skip indexes with FINAL), which cost more than the lookup itself.
_BY_ID = {"use_skip_indexes_if_final_exact_mode": 0}


def cascade(client: Client, root_id: str, max_depth: int = 10, max_nodes: int = 200) -> Cascade:
    """The post ``root_id`` and everything hanging off it, walked level by level.

    A post hangs on ``reshare_of`` when it has one, else on ``reply_to``: the scorer's rule
    (docs/scoring.md section 9), so the picture and the figures agree. One query per level.
    """
    root = client.query(
        _NODE_SQL + " WHERE event_id = {root:String} LIMIT 1",
        parameters={"root": root_id},
        settings=_BY_ID,
    ).named_results()
    first = next(iter(root), None)
    if first is None:
        return Cascade([], False)
    nodes = [_node(first, None, 0)]
    frontier = [root_id]
    for depth in range(1, max_depth + 1):
        if not frontier or len(nodes) >= max_nodes:
            break
        level = client.query(
            _NODE_SQL
            + """ WHERE reshare_of IN {ids:Array(String)} OR reply_to IN {ids:Array(String)}
                  ORDER BY occurred_at, event_id LIMIT {limit:UInt32}""",
            parameters={"ids": frontier, "limit": max_nodes - len(nodes) + 1},
            settings=_BY_ID,
        ).named_results()
        ids = set(frontier)
        next_frontier = []
        for row in level:
            parent = row["reshare_of"] if row["reshare_of"] is not None else row["reply_to"]
            if parent not in ids or len(nodes) >= max_nodes:
                continue
            nodes.append(_node(row, str(parent), depth))
            next_frontier.append(str(row["event_id"]))
        frontier = next_frontier
    return Cascade(nodes, truncated=len(nodes) >= max_nodes)


def _node(row: dict[str, Any], parent: str | None, depth: int) -> CascadeNode:
    kind: NodeKind = (
        "root" if parent is None else ("reshare" if row["reshare_of"] is not None else "reply")
    )
    return CascadeNode(
        event_id=str(row["event_id"]),
        parent_id=parent,
        author=str(row["author_handle"]),
        audience=int(row["author_audience"]),
        kind=kind,
        depth=depth,
    )
