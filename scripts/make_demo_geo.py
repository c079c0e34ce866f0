"""Writes app/demo/geo.json: illustrative outlines of the demo county's townships and their grids.

The demo county is a 4 × 2 patchwork around Tai'an's old town (the real boundaries are not public
as open data); each township is split into 2 × 2 grids. Shared edges are jittered once so that
neighbours still meet exactly. Run again only to change the demo map; the output is committed.
"""
import json
import random
from pathlib import Path

WEST, EAST, SOUTH, NORTH = 117.080, 117.200, 36.170, 36.250
COLS, ROWS = 4, 2
TOWNSHIPS = ["T01", "T02", "T03", "T04", "T05", "T06", "T07", "T08"]   # row by row, north-west first


def main():
    rnd = random.Random(2019)
    nx, ny = COLS * 2, ROWS * 2      # grid-level lattice
    pts = {}
    for i in range(nx + 1):
        for j in range(ny + 1):
            x = WEST + (EAST - WEST) * i / nx
            y = NORTH - (NORTH - SOUTH) * j / ny
            inner = 0 < i < nx and 0 < j < ny
            dx = rnd.uniform(-0.003, 0.003) if inner else 0.0
            dy = rnd.uniform(-0.002, 0.002) if inner else 0.0
            pts[i, j] = [round(x + dx, 5), round(y + dy, 5)]

    def ring(i0, j0, i1, j1):
        """The lattice points around cells [i0,i1) × [j0,j1), counter-clockwise, closed."""
        edge = [pts[i, j1] for i in range(i0, i1 + 1)]                 # south edge, west to east
        edge += [pts[i1, j] for j in range(j1 - 1, j0 - 1, -1)]        # east edge, south to north
        edge += [pts[i, j0] for i in range(i1 - 1, i0 - 1, -1)]        # north edge, east to west
        edge += [pts[i0, j] for j in range(j0 + 1, j1 + 1)]            # west edge, north to south
        return edge

    features = []
    for n, code in enumerate(TOWNSHIPS):
        c, r = n % COLS, n // COLS
        features.append({"type": "Feature", "properties": {"code": code, "kind": "township"},
                         "geometry": {"type": "Polygon", "coordinates": [ring(2 * c, 2 * r, 2 * c + 2, 2 * r + 2)]}})
        for g in range(4):
            gi, gj = 2 * c + g % 2, 2 * r + g // 2
            features.append({"type": "Feature", "properties": {"code": f"{code}-G0{g + 1}", "kind": "grid",
                                                                "township": code},
                             "geometry": {"type": "Polygon", "coordinates": [ring(gi, gj, gi + 1, gj + 1)]}})
    out = Path(__file__).resolve().parent.parent / "app" / "demo" / "geo.json"
    out.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False, indent=1) + "\n",
                   encoding="utf-8")


if __name__ == "__main__":
    main()
