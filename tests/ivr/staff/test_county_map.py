"""The county map's shapes: Iowa's 99 counties, named as the precinct import names them,
decoded from TopoJSON's quantized arcs."""

from __future__ import annotations

import re

from ivr.staff import county_map
from tests.support.data import precinct_rows


def test_every_county_of_the_2020_precincts_has_a_shape_and_no_shape_is_left_over() -> None:
    outline = county_map.outline_of_iowa()
    names = {shape.name for shape in outline.shapes}
    assert len(outline.shapes) == len(names) == 99
    counties = {row["county"] for row in precinct_rows()}
    satellites = {name for name in counties if name.endswith(" Satellite")}
    assert satellites == {f"CD{n} Satellite" for n in range(1, 5)} | {"Out of State Satellite"}
    assert counties - satellites == names
    assert {"O'Brien", "Pottawattamie", "Black Hawk", "Van Buren"} <= names
    assert all(shape.fips.startswith("19") for shape in outline.shapes)


def test_the_shapes_fit_the_map_and_keep_iowas_proportions() -> None:
    outline = county_map.outline_of_iowa()
    assert outline.width == 800
    # Iowa is about 1.6 times as wide as it is tall.
    assert 1.4 < outline.width / outline.height < 1.8
    for shape in outline.shapes:
        numbers = [float(n) for n in re.findall(r"-?\d+\.\d", shape.path)]
        assert numbers and shape.path.startswith("M") and shape.path.endswith("Z")
        xs, ys = numbers[0::2], numbers[1::2]
        assert min(xs) >= 0 and max(xs) <= outline.width, shape.name
        assert min(ys) >= 0 and max(ys) <= outline.height, shape.name
    by_name = {shape.name: shape.path for shape in outline.shapes}

    def centre_x(name: str) -> float:
        xs = [float(n) for n in re.findall(r"(?:M|L)(-?\d+\.\d)", by_name[name])]
        return sum(xs) / len(xs)

    # West to east: Lyon (north-west corner), Polk (centre), Scott (Davenport, on the east).
    assert centre_x("Lyon") < centre_x("Polk") < centre_x("Scott")


def test_arcs_are_delta_decoded_and_rings_join_them() -> None:
    arcs = county_map.decode_arcs(
        [[[0, 0], [2, 0], [0, 3]], [[2, 3], [-2, -3]]],
        {"scale": [0.5, 2.0], "translate": [10.0, 100.0]},
    )
    assert arcs == [[(10.0, 100.0), (11.0, 100.0), (11.0, 106.0)], [(11.0, 106.0), (10.0, 100.0)]]
    triangle = [(10.0, 100.0), (11.0, 100.0), (11.0, 106.0), (10.0, 100.0)]
    assert county_map.ring_points(arcs, [0, 1]) == triangle
    # ~1 is arc 1 reversed, ~0 arc 0 reversed: the same ring walked the other way.
    assert county_map.ring_points(arcs, [~1, ~0]) == list(reversed(triangle))


def test_a_share_falls_in_exactly_one_band_and_only_all_precincts_make_the_last() -> None:
    assert county_map.band_of(0, 0) is None

    def band(count: int, of: int) -> int:
        found = county_map.band_of(count, of)
        assert found is not None
        return found.index

    assert [band(n, 100) for n in (0, 24, 25, 49, 50, 75, 99, 100)] == [0, 0, 1, 1, 2, 3, 3, 4]
    assert band(199, 200) == 3  # 99.5% is not everyone
    assert [band.label for band in county_map.BANDS] == [
        "0 to 24%",
        "25 to 49%",
        "50 to 74%",
        "75 to 99%",
        "100%",
    ]
