#!/usr/bin/python3
"""networkx peer of `qiancun metrics --network` (SPEC §3 "Network distance").

Usage: networkx_network.py REGISTRY OUT.csv [--types "t1 t2 …"]

Reads the registry with GeoPandas (GDAL's SQLite driver), builds the same road graph as
qiancun and writes, per village code, net_nearest_T_m and net_pop_cov_T for every type:

  * graph: serving roads (operating / renovating); nodes at line ends and at vertices shared by
    two or more lines; vertices of different lines (or two line ends) within 1 m joined by
    single linkage (scipy cKDTree.query_pairs); an undirected networkx Graph weighted by
    length (parallel edges keep the shortest);
  * attaching: the nearest edge (shapely STRtree.nearest; for a hall footprint the nearest
    points of footprint and edge, or where edges cross it the first and last point inside, leg
    0), split virtually at the projection; legs over 1000 m do not reach;
  * one multi-source Dijkstra per type and question, as networkx users write it: a virtual
    super-source joined to both ends of every asset's edge with weight leg + offset
    (nx.single_source_dijkstra_path_length). For coverage the weights are leg + offset −
    r(A) + max r, searched with cutoff max r: "some asset reaches within its own radius";
    a target on an asset's own edge also checks the direct way along the edge.

Phase timings go to stderr. Debian's python3-networkx, python3-geopandas, python3-scipy.
"""
import argparse
import csv
import math
import sys
import time

import geopandas as gpd
import networkx as nx
import numpy as np
from scipy.spatial import cKDTree
from shapely.geometry import LineString, Point
from shapely.ops import nearest_points
from shapely.strtree import STRtree

SERVING = {"operating", "renovating"}
SNAP_M = 1.0
CAP_M = 1000.0
DEFAULT_RADIUS = {"sewage_plant": 1000.0, "base_station_5g": 1500.0, "cultural_hall": 1000.0,
                  "courier_station": 2000.0, "clinic": 1500.0}
TYPES = ["sewage_plant", "base_station_5g", "cultural_hall", "courier_station"]

T0 = time.time()


def phase(msg):
    print(f"[{time.time() - T0:7.2f} s] {msg}", file=sys.stderr, flush=True)


def radius(kind, row):
    own = row.get("service_radius_m")
    if own is not None and not (isinstance(own, float) and math.isnan(own)) and float(own) > 0:
        return float(own)
    band = row.get("band")
    if kind == "base_station_5g" and band is not None and str(band).strip() != "":
        try:
            if float(band) == 700:
                return 5000.0
        except ValueError:
            pass
    return DEFAULT_RADIUS.get(kind, 1000.0)


class Parent:
    def __init__(self, n):
        self.p = list(range(n))

    def find(self, i):
        p = self.p
        while p[i] != i:
            p[i] = p[p[i]]
            i = p[i]
        return i

    def unite(self, a, b):
        a, b = self.find(a), self.find(b)
        if a != b:
            self.p[max(a, b)] = min(a, b)


def build_graph(roads):
    lines = []
    for geom in roads.geometry:
        if geom is None:
            continue
        parts = geom.geoms if geom.geom_type.startswith("Multi") else [geom]
        for part in parts:
            pts = []
            for c in part.coords:
                c = (c[0], c[1])
                if not pts or pts[-1] != c:
                    pts.append(c)
            if len(pts) >= 2:
                lines.append(pts)
    coord_id = {}
    first_line, many, end = [], [], []
    for li, pts in enumerate(lines):
        for i, c in enumerate(pts):
            cid = coord_id.get(c)
            if cid is None:
                cid = coord_id[c] = len(first_line)
                first_line.append(li)
                many.append(False)
                end.append(False)
            elif first_line[cid] != li:
                many[cid] = True
            if i == 0 or i == len(pts) - 1:
                end[cid] = True
    coords = np.array(list(coord_id.keys()))
    node = [e or m for e, m in zip(end, many)]
    sets = Parent(len(coords))
    pairs = cKDTree(coords).query_pairs(SNAP_M)
    close = []
    for a, b in pairs:
        if math.dist(coords[a], coords[b]) > SNAP_M:
            continue
        if many[a] or many[b] or first_line[a] != first_line[b] or (end[a] and end[b]):
            node[a] = node[b] = True
        close.append((a, b))
    for a, b in close:
        if node[a] and node[b]:
            sets.unite(a, b)
    G = nx.Graph()
    edges = []  # (a, b, length, LineString)
    for pts in lines:
        start = 0
        for i in range(1, len(pts)):
            cid = coord_id[pts[i]]
            if not node[cid]:
                continue
            geom = LineString(pts[start:i + 1])
            a = sets.find(coord_id[pts[start]])
            b = sets.find(cid)
            length = geom.length
            edges.append((a, b, length, geom))
            if a != b and (not G.has_edge(a, b) or G[a][b]["weight"] > length):
                G.add_edge(a, b, weight=length)
            start = i
    return G, edges


class Network:
    def __init__(self, G, edges):
        self.G = G
        self.edges = edges
        self.geoms = [e[3] for e in edges]
        self.tree = STRtree(self.geoms)
        self.index = {id(g): i for i, g in enumerate(self.geoms)}

    def attach(self, geom):
        """(edge, offset, leg) of a point or footprint, or None beyond the cap."""
        line = self.tree.nearest(geom)
        e = self.index[id(line)]
        if geom.geom_type == "Point":
            off = line.project(geom)
            leg = geom.distance(line.interpolate(off))
        else:
            p, q = nearest_points(geom, line)
            off = line.project(q)
            leg = p.distance(q)
        return (e, off, leg) if leg <= CAP_M else None

    def attach_footprint_all(self, geom):
        """A footprint crossed by roads joins at the first and last point of each edge part
        inside it (leg 0: distances are to the footprint); else at its nearest edge."""
        out = []
        for line in self.tree.query(geom):
            if not line.intersects(geom):
                continue
            inside = line.intersection(geom)
            parts = getattr(inside, "geoms", [inside])
            offs = [line.project(Point(c)) for part in parts for c in part.coords]
            if offs:
                e = self.index[id(line)]
                out += [(e, min(offs), 0.0), (e, max(offs), 0.0)]
        if not out:
            at = self.attach(geom)
            out = [at] if at else []
        return out

    def search(self, sources, radii, cover):
        """Values per node (distance − radius when `cover`) and the direct ways per edge."""
        shift = max(radii) if cover else 0.0
        G = self.G
        S = "super"
        direct = {}
        for (e, off, leg), r in zip(sources, radii):
            a, b, length, _ = self.edges[e]
            seed = leg - (r if cover else 0.0) + shift
            for n, w in ((a, seed + off), (b, seed + length - off)):
                if not G.has_edge(S, n) or G[S][n]["weight"] > w:
                    G.add_edge(S, n, weight=w)
            direct.setdefault(e, []).append((off, leg - (r if cover else 0.0)))
        dist = nx.single_source_dijkstra_path_length(G, S, cutoff=shift if cover else None)
        G.remove_node(S)
        return dist, direct, shift

    def value(self, result, target):
        dist, direct, shift = result
        e, off, leg = target
        a, b, length, _ = self.edges[e]
        best = math.inf
        if a in dist:
            best = dist[a] - shift + off
        if b in dist:
            best = min(best, dist[b] - shift + length - off)
        for s_off, s_seed in direct.get(e, ()):
            best = min(best, s_seed + abs(s_off - off))
        return best + leg


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("registry")
    ap.add_argument("out")
    ap.add_argument("--types", default=" ".join(TYPES))
    args = ap.parse_args()
    types = args.types.split()

    roads = gpd.read_file(args.registry, layer="rural_road")
    roads = roads[roads["status"].isin(SERVING)]
    phase(f"read {len(roads)} serving roads")
    G, edges = build_graph(roads)
    phase(f"graph: {G.number_of_nodes()} nodes, {len(edges)} edges")
    net = Network(G, edges)
    phase("edge index")

    villages = gpd.read_file(args.registry, layer="village")
    settlements = gpd.read_file(args.registry, layer="settlement")
    settlements = settlements[settlements["village_code"].notna()]
    phase(f"read {len(villages)} villages, {len(settlements)} settlements")
    demand = []
    for sx, sy, geom in zip(villages["seat_x"], villages["seat_y"], villages.geometry):
        if sx is not None and sy is not None and not (math.isnan(sx) or math.isnan(sy)):
            demand.append(net.attach(Point(sx, sy)))
        else:
            demand.append(net.attach(geom.representative_point()))
    settled = [net.attach(g) for g in settlements.geometry]
    pops = [0 if p is None or (isinstance(p, float) and math.isnan(p)) else max(0, int(p))
            for p in settlements["population"]]
    codes = list(villages["code"])
    by_village = {}
    for i, c in enumerate(settlements["village_code"]):
        by_village.setdefault(c, []).append(i)
    phase("attached villages and settlements")

    columns = {}
    for kind in types:
        assets = gpd.read_file(args.registry, layer=kind)
        if kind == "cultural_hall":
            # A hall keeps its point in `geom` and its polygon, if any, in `footprint_geom`:
            # distances run from the footprint where there is one (SPEC §3).
            footprints = gpd.read_file(args.registry, layer=f"{kind}(footprint_geom)")
            assets = assets.set_geometry(
                [f if f is not None else p for f, p in zip(footprints.geometry, assets.geometry)],
                crs=assets.crs,
            )
        assets = assets[assets["status"].isin(SERVING)]
        sources, radii = [], []
        for _, row in assets.iterrows():
            g = row.geometry
            ats = [net.attach(g)] if g.geom_type == "Point" else net.attach_footprint_all(g)
            for at in ats:
                if at is not None:
                    sources.append(at)
                    radii.append(radius(kind, row))
        nearest = net.search(sources, radii, False) if sources else None
        cover = net.search(sources, radii, True) if sources else None
        near_col, cov_col = [], []
        for v, code in enumerate(codes):
            d = net.value(nearest, demand[v]) if nearest and demand[v] else math.inf
            near_col.append("" if d == math.inf else repr(d))
            total = covered = 0
            for s in by_village.get(code, ()):
                total += pops[s]
                if cover and settled[s] and net.value(cover, settled[s]) <= 0.0:
                    covered += pops[s]
            cov_col.append(repr(covered / total) if total > 0 else "")
        columns[f"net_nearest_{kind}_m"] = near_col
        columns[f"net_pop_cov_{kind}"] = cov_col
        phase(f"{kind}: {len(sources)} sources")

    with open(args.out, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["code"] + list(columns))
        for v, code in enumerate(codes):
            w.writerow([code] + [columns[c][v] for c in columns])
    phase(f"wrote {args.out}")


if __name__ == "__main__":
    main()
