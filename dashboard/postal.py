"""Where a place is: a name and a map point for a postal prefix, offline.

Coordinates and names come from the ``zipcodes`` package, which ships every US ZIP code with
its centroid (GeoNames, CC BY 4.0) and city inside the wheel: nothing is downloaded at run
time. A place's point is the mean of the centroids of the ZIP codes that start with its prefix
(``981`` is the 65 ZIP codes of Seattle), so the map never claims more precision than the
prefix the warehouse stores. Its name is the city with the most ZIP codes under the prefix
(``Seattle, WA``), for orientation only.

The package knows only the United States: a place elsewhere, or a prefix that is not the start
of any US ZIP code, gets ``None`` and is listed in a table instead of drawn.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import cache

import pandas as pd
import zipcodes

COVERED_COUNTRIES = ("US",)
# PO boxes and single-address ZIPs sit at a post office or a building; military ZIPs have no
# location. Ordinary delivery ZIPs describe where people live.
_AREA_TYPES = {"STANDARD"}
_MAX_PREFIX = 3


@dataclass(frozen=True)
class PlaceInfo:
    name: str  # "Seattle, WA"
    state: str
    latitude: float
    longitude: float


@dataclass(frozen=True)
class _Zip:
    code: str
    city: str
    state: str
    latitude: float
    longitude: float
    area: bool


@cache
def _zips() -> tuple[_Zip, ...]:
    found = []
    for z in zipcodes.list_all():
        lat, lon = float(z["lat"] or 0), float(z["long"] or 0)
        if lat == 0 and lon == 0:  # military and a few others: no location
            continue
        area = z["zip_code_type"] in _AREA_TYPES and bool(z["active"])
        found.append(_Zip(z["zip_code"], str(z["city"]).title(), z["state"], lat, lon, area))
    return tuple(found)


@cache
def _by_prefix() -> dict[str, tuple[_Zip, ...]]:
    groups: dict[str, list[_Zip]] = defaultdict(list)
    for z in _zips():
        for n in range(1, _MAX_PREFIX + 1):
            groups[z.code[:n]].append(z)
    return {prefix: tuple(zs) for prefix, zs in groups.items()}


@cache
def _locate_us(prefix: str) -> PlaceInfo | None:
    zips = _by_prefix().get(prefix)
    if not zips:
        return None
    # Delivery ZIPs where the prefix has any, so a downtown full of PO boxes does not pull the
    # point; otherwise every ZIP with a location.
    chosen = [z for z in zips if z.area] or list(zips)
    state = Counter(z.state for z in chosen).most_common(1)[0][0]
    if len(prefix) == _MAX_PREFIX:
        city = Counter(z.city for z in chosen).most_common(1)[0][0]
        name = f"{city}, {state}"
    else:  # one or two digits span many cities: the state says more
        name = state
    return PlaceInfo(
        name=name,
        state=state,
        latitude=round(sum(z.latitude for z in chosen) / len(chosen), 4),
        longitude=round(sum(z.longitude for z in chosen) / len(chosen), 4),
    )


def locate(country: str, place: str) -> PlaceInfo | None:
    """Name and map point of a place, or None where the package cannot place it."""
    prefix = place.strip().upper()[:_MAX_PREFIX]
    if country.strip().upper() != "US" or not prefix.isdigit():
        return None
    return _locate_us(prefix)


@cache
def us_outline() -> pd.DataFrame:
    """The centroid of every US delivery ZIP code (``latitude``, ``longitude``): drawn faintly
    under the places, they outline where people live without map tiles from the internet."""
    points = [(z.latitude, z.longitude) for z in _zips() if z.area]
    return pd.DataFrame(points, columns=["latitude", "longitude"])
