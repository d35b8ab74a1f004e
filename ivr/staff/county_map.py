"""The county map of Iowa: the Census Bureau's shapes as SVG paths, shaded by a share.

The shapes come from `ivr/data/iowa_counties/counties.topo.json` (us-atlas, already projected
to the Albers USA plane; see its SOURCE.md and `scripts/extract_iowa_counties.py`). They are
decoded once per process from TopoJSON's quantized, delta-encoded arcs and drawn server-side as
inline SVG, so the map needs no JavaScript and nothing from the network. What a county's share
means (precincts ready, precincts reported) is the caller's: this module only draws it, each
county a path with a title and an accessible name giving the figure, and a legend whose bands
are named in words, so the map never relies on colour alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

SHAPES = resources.files("ivr.data").joinpath("iowa_counties", "counties.topo.json")
WIDTH = 800.0
"""The map's width in SVG units; its height follows Iowa's shape."""
MARGIN = 4.0


@dataclass(frozen=True)
class Shape:
    name: str
    fips: str
    path: str
    """The SVG path data, in the map's own coordinates."""


@dataclass(frozen=True)
class Outline:
    width: float
    height: float
    shapes: tuple[Shape, ...]


@dataclass(frozen=True)
class Band:
    """A range of shares drawn in one colour; `index` picks the colour (0 lightest)."""

    index: int
    low: int
    """Lowest percentage in the band (inclusive)."""
    high: int
    """Highest percentage in the band (inclusive)."""

    @property
    def label(self) -> str:
        if self.low == self.high:
            return f"{self.low}%"
        return f"{self.low} to {self.high}%"


BANDS = (Band(0, 0, 24), Band(1, 25, 49), Band(2, 50, 74), Band(3, 75, 99), Band(4, 100, 100))
"""Every precinct of a county is what the last band needs; a county one short stays below."""


@dataclass(frozen=True)
class County:
    name: str
    fips: str
    path: str
    band: Band | None
    """None: the county has no precincts imported."""
    title: str


@dataclass(frozen=True)
class CountyMap:
    mode: str
    """What the shade measures, e.g. "readiness" or "reporting" (the CSS class of its palette)."""
    caption: str
    width: float
    height: float
    counties: tuple[County, ...]
    bands: tuple[Band, ...]
    unmapped: tuple[str, ...]
    """Counties in the figures with no shape (the satellites' pseudo-counties)."""


def band_of(count: int, of: int) -> Band | None:
    if of <= 0:
        return None
    # Floor, so a county shows 100% only when every one of its precincts counts.
    percent = count * 100 // of
    return next(band for band in BANDS if band.low <= percent <= band.high)


def draw(
    figures: Mapping[str, tuple[int, int]], *, mode: str, measure: str, caption: str
) -> CountyMap:
    """The map for `figures` (county name -> (count, of)): each county shaded by count/of and
    titled e.g. "Adair: 6 of 8 precincts ready (75%)", `measure` being "ready"."""
    outline = outline_of_iowa()
    counties = []
    for shape in outline.shapes:
        count, of = figures.get(shape.name, (0, 0))
        band = band_of(count, of)
        if band is None:
            title = f"{shape.name}: no precincts imported"
        else:
            title = f"{shape.name}: {count:,} of {of:,} precincts {measure} ({count * 100 // of}%)"
        counties.append(County(shape.name, shape.fips, shape.path, band, title))
    names = {shape.name for shape in outline.shapes}
    unmapped = tuple(sorted(name for name in figures if name not in names))
    return CountyMap(mode, caption, outline.width, outline.height, tuple(counties), BANDS, unmapped)


@cache
def outline_of_iowa() -> Outline:
    """Iowa's counties as SVG paths, scaled to WIDTH (decoded once per process)."""
    topology: dict[str, Any] = json.loads(SHAPES.read_text(encoding="utf-8"))
    arcs = decode_arcs(topology["arcs"], topology["transform"])
    geometries = topology["objects"]["counties"]["geometries"]
    polygons = {
        str(g["id"]): [[ring_points(arcs, ring) for ring in polygon] for polygon in _polygons_of(g)]
        for g in geometries
    }
    xs = [x for rings in polygons.values() for poly in rings for ring in poly for x, _ in ring]
    ys = [y for rings in polygons.values() for poly in rings for ring in poly for _, y in ring]
    scale = (WIDTH - 2 * MARGIN) / (max(xs) - min(xs))
    left, top = min(xs), min(ys)
    height = round((max(ys) - top) * scale + 2 * MARGIN, 1)

    def to_map(point: tuple[float, float]) -> str:
        x, y = point
        return f"{(x - left) * scale + MARGIN:.1f},{(y - top) * scale + MARGIN:.1f}"

    shapes = []
    for g in sorted(geometries, key=lambda g: str(g["properties"]["name"])):
        rings = (ring for poly in polygons[str(g["id"])] for ring in poly)
        path = "".join("M" + "L".join(to_map(point) for point in ring) + "Z" for ring in rings)
        shapes.append(Shape(str(g["properties"]["name"]), str(g["id"]), path))
    return Outline(WIDTH, height, tuple(shapes))


def decode_arcs(
    arcs: Sequence[Sequence[Sequence[int]]], transform: Mapping[str, Sequence[float]]
) -> list[list[tuple[float, float]]]:
    """TopoJSON's quantized arcs as points: each arc's positions after the first are deltas
    from the one before, and the transform maps the integers back to the plane."""
    (sx, sy), (tx, ty) = transform["scale"], transform["translate"]
    decoded = []
    for arc in arcs:
        x = y = 0
        points = []
        for dx, dy in arc:
            x += dx
            y += dy
            points.append((x * sx + tx, y * sy + ty))
        decoded.append(points)
    return decoded


def ring_points(
    arcs: Sequence[Sequence[tuple[float, float]]], ring: Sequence[int]
) -> list[tuple[float, float]]:
    """A ring's points from its arcs (~i is arc i reversed); consecutive arcs share an end."""
    points: list[tuple[float, float]] = []
    for index in ring:
        arc = list(reversed(arcs[~index])) if index < 0 else list(arcs[index])
        points.extend(arc if not points else arc[1:])
    return points


def _polygons_of(geometry: Mapping[str, Any]) -> Iterator[list[list[int]]]:
    if geometry["type"] == "Polygon":
        yield geometry["arcs"]
    elif geometry["type"] == "MultiPolygon":
        yield from geometry["arcs"]
