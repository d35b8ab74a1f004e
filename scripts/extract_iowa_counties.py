"""Regenerate ivr/data/iowa_counties/counties.topo.json: Iowa's 99 county shapes.

Run at development time only (it needs npm and the npm registry), never at run or test time:

    .venv/bin/python scripts/extract_iowa_counties.py

It fetches the pinned `us-atlas` package (the Census Bureau's cartographic boundary files,
as TopoJSON, ISC licence) with `npm pack`, takes `counties-albers-10m.json` (already projected
to the Albers USA plane, so the dashboard needs no projection code), keeps the counties of
Iowa (state FIPS 19) and the arcs they use, re-indexed, and writes them compactly. The arcs
stay quantized and delta-encoded, with the file's transform, exactly as published.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

PACKAGE = "us-atlas@3.0.1"
SOURCE_FILE = "package/counties-albers-10m.json"
STATE_FIPS = "19"
OUT = Path(__file__).resolve().parents[1] / "ivr" / "data" / "iowa_counties" / "counties.topo.json"


def fetch(directory: Path) -> dict[str, Any]:
    subprocess.run(
        ["npm", "pack", PACKAGE, "--silent", "--pack-destination", str(directory)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    (tarball,) = directory.glob("us-atlas-*.tgz")
    with tarfile.open(tarball) as archive:
        member = archive.extractfile(SOURCE_FILE)
        if member is None:
            sys.exit(f"{PACKAGE} has no {SOURCE_FILE}")
        data: dict[str, Any] = json.load(member)
    return data


def extract(topology: dict[str, Any]) -> dict[str, Any]:
    counties = [
        geometry
        for geometry in topology["objects"]["counties"]["geometries"]
        if str(geometry["id"]).startswith(STATE_FIPS)
    ]
    new_index: dict[int, int] = {}

    def remap(index: int) -> int:
        # A negative index ~i is arc i reversed.
        plain = ~index if index < 0 else index
        if plain not in new_index:
            new_index[plain] = len(new_index)
        return ~new_index[plain] if index < 0 else new_index[plain]

    geometries = []
    for county in sorted(counties, key=lambda g: str(g["id"])):
        if county["type"] == "Polygon":
            arcs: Any = [[remap(i) for i in ring] for ring in county["arcs"]]
        else:
            arcs = [[[remap(i) for i in ring] for ring in polygon] for polygon in county["arcs"]]
        geometries.append(
            {
                "type": county["type"],
                "id": county["id"],
                "properties": {"name": county["properties"]["name"]},
                "arcs": arcs,
            }
        )
    old_arcs = topology["arcs"]
    return {
        "type": "Topology",
        "transform": topology["transform"],
        "objects": {"counties": {"type": "GeometryCollection", "geometries": geometries}},
        "arcs": [old_arcs[old] for old, _ in sorted(new_index.items(), key=lambda kv: kv[1])],
    }


def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        iowa = extract(fetch(Path(directory)))
    count = len(iowa["objects"]["counties"]["geometries"])
    if count != 99:
        sys.exit(f"expected Iowa's 99 counties, found {count}")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(iowa, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"wrote {count} counties, {len(iowa['arcs'])} arcs to {OUT}")


if __name__ == "__main__":
    main()
