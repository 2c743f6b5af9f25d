#!/usr/bin/python3
"""GeoPandas peer of `qiancun metrics` (SPEC §3, straight-line metrics).

Run with Debian's interpreter, /usr/bin/python3 (python3-geopandas: GeoPandas 0.12, Shapely
1.8, rtree, GDAL bindings). Reads the registry tables through GDAL (osgeo.ogr, attribute
filter pushed down to SQLite; geometries as WKB into GeoSeries.from_wkb) and writes a CSV
keyed by village code with n_T, nearest_T_m, area_cov_T, pop_cov_T for every type T, then
road_km, hardened_km.

The computation is what a GeoPandas user who knows the library writes:
  * candidate pairs with gpd.sjoin against each asset's reach box (bounds grown by its
    radius; the R-tree of GeoPandas' sindex), then an exact distance test — no cartesian
    product;
  * area_cov: the discs GeoSeries.buffer(r, resolution=16) of the candidate assets,
    dissolve(by=village) (a unary_union per village), intersection with the village, .area;
  * pop_cov: settlement within distance <= r of a serving asset (exact distance, no disc);
  * nearest: sindex.nearest on the demand point (seat, else representative_point(), which is
    GEOS point-on-surface), refined with the exact distance to everything whose box lies
    within that distance (rtree's nearest works on boxes; this makes it exact for lines and
    footprints). gpd.sjoin_nearest is not available with Debian's Shapely 1.8 without PyGEOS;
  * halls with a footprint: the footprint (`footprint_geom`, else the point `geom`) is the
    asset's geometry for distances and discs (SPEC §3 "Polygon assets");
  * n: serving assets by the registry's village_code (the border rule); roads: sjoin
    predicate="intersects", road_km / hardened_km from the intersection lengths;
  * the villages are split into JOBS interleaved parts computed by JOBS forked worker
    processes (the data are read once, before the fork), so the peer uses the cores qiancun
    uses.

Usage: geopandas_metrics.py REGISTRY OUT.csv [--villages N] [--types t1,t2] [--jobs J]
Per-asset radius: service_radius_m (> 0), then (5G) band 700 → 5000 m, then the type default.
"""
import argparse
import multiprocessing as mp
import sys
import time
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
from osgeo import ogr
from shapely.geometry import box

SERVING = ("operating", "renovating")
# Type defaults of SPEC §3 (clinic: the sample manifest's [asset_types.clinic]).
DEFAULT_R = {"sewage_plant": 1000.0, "rural_road": 500.0, "base_station_5g": 1500.0,
             "cultural_hall": 1000.0, "courier_station": 2000.0, "clinic": 1500.0}
ALL_TYPES = ["sewage_plant", "rural_road", "base_station_5g", "cultural_hall",
             "courier_station", "clinic"]

T0 = time.monotonic()
# GeoPandas 0.12 warns that rtree's sindex.nearest signature will change; it is used as is.
warnings.filterwarnings("ignore", message="sindex.nearest using the rtree backend")


def log(msg):
    print(f"[geopandas {time.monotonic() - T0:7.1f} s] {msg}", file=sys.stderr, flush=True)


def read_layer(path, layer, fields, where=None):
    """One registry table as a GeoDataFrame, read through GDAL."""
    ds = ogr.Open(path)
    lyr = ds.GetLayerByName(layer)
    if lyr is None:
        return None
    if where:
        lyr.SetAttributeFilter(where)
    defn = lyr.GetLayerDefn()
    idx = {f: defn.GetFieldIndex(f) for f in fields}
    idx = {f: i for f, i in idx.items() if i >= 0}
    cols = {f: [] for f in idx}
    wkbs = []
    # A kind with footprints (cultural halls) has a POINT `geom` and a MULTIPOLYGON
    # `footprint_geom`: the footprint is the asset's geometry where there is one (SPEC §3).
    fp = defn.GetGeomFieldIndex("footprint_geom")
    for feat in lyr:
        for f, i in idx.items():
            cols[f].append(feat.GetField(i) if feat.IsFieldSetAndNotNull(i) else None)
        g = feat.GetGeomFieldRef(fp) if fp >= 0 else None
        if g is None:
            g = feat.GetGeomFieldRef(defn.GetGeomFieldIndex("geom"))
        wkbs.append(bytes(g.ExportToWkb()))
    srs = lyr.GetSpatialRef()
    crs = f"EPSG:{srs.GetAuthorityCode(None)}" if srs is not None else None
    df = gpd.GeoDataFrame(cols, geometry=gpd.GeoSeries.from_wkb(wkbs), crs=crs)
    for f in fields:
        if f not in df.columns:
            df[f] = None
    return df


def radii(df, t):
    r = np.full(len(df), DEFAULT_R.get(t, 1000.0))
    if t == "base_station_5g":
        r[pd.to_numeric(df["band"], errors="coerce").to_numpy() == 700] = 5000.0
    own = pd.to_numeric(df["service_radius_m"], errors="coerce").to_numpy(dtype=float)
    return np.where(own > 0, own, r)  # NaN > 0 is False: empty means none


# ---- data shared with the forked workers (read once in the parent) ----
V = None          # villages: code, geometry, area, demand point
S = None          # settlements: village_code, population, geometry
A = {}            # per type: serving assets with r, reach box; sindex built
TYPES = []


def load(path, types, nvillages):
    global V, S, TYPES
    V = read_layer(path, "village", ["code", "seat_x", "seat_y"])
    V = V.sort_values("code").reset_index(drop=True)
    if nvillages:
        V = V.iloc[:nvillages].copy()
    V["area"] = V.geometry.area
    seat = V["seat_x"].notna() & V["seat_y"].notna()
    dp = V.geometry.representative_point()  # GEOS point-on-surface
    dp[seat] = gpd.points_from_xy(V.loc[seat, "seat_x"], V.loc[seat, "seat_y"])
    V["dp"] = dp
    log(f"villages: {len(V)}")
    S = read_layer(path, "settlement", ["village_code", "population"],
                   "village_code IS NOT NULL")
    S = S[S["village_code"].isin(set(V["code"]))].reset_index(drop=True)
    S["population"] = pd.to_numeric(S["population"], errors="coerce").fillna(0)
    log(f"settlements: {len(S)}")
    status = "status IN ('operating', 'renovating')"
    for t in types:
        fields = ["status", "service_radius_m", "village_code"]
        if t == "base_station_5g":
            fields.append("band")
        if t == "rural_road":
            fields.append("surface")
        a = read_layer(path, t, fields, status)
        if a is None:
            continue
        a = a.reset_index(drop=True)
        a["r"] = radii(a, t)
        b = a.geometry.bounds.to_numpy()
        rr = a["r"].to_numpy()
        reach = [box(x0 - r, y0 - r, x1 + r, y1 + r) for (x0, y0, x1, y1), r in zip(b, rr)]
        boxes = gpd.GeoDataFrame({"r": a["r"]}, geometry=gpd.GeoSeries(reach, crs=a.crs))
        # R-trees built once, before the fork, and shared by the workers.
        _ = a.sindex
        _ = boxes.sindex
        A[t] = (a, boxes)
        TYPES.append(t)
        log(f"{t}: {len(a)} serving")


def nearest_dist(a, pts):
    """Exact distance from each point to the nearest geometry of `a` (None when `a` is empty)."""
    if len(a) == 0:
        return [None] * len(pts)
    geoms = a.geometry.values
    idx = a.sindex
    out = []
    for p in pts:
        near = list(idx.nearest(p.bounds, 1))
        d = min(p.distance(geoms[i]) for i in near)
        # rtree ranks boxes: anything whose box comes within d of p may be nearer.
        cand = idx.intersection((p.x - d, p.y - d, p.x + d, p.y + d))
        d = min(d, min(p.distance(geoms[i]) for i in cand))
        out.append(d)
    return out


def compute_part(k, jobs):
    v = V.iloc[k::jobs].reset_index(drop=True)
    vg = gpd.GeoDataFrame(v[["code", "area"]], geometry=v.geometry, crs=V.crs)
    s = S[S["village_code"].isin(set(v["code"]))].reset_index(drop=True)
    out = pd.DataFrame({"code": v["code"]}).set_index("code")
    for t in TYPES:
        a, boxes = A[t]
        t_start = time.monotonic()
        # --- area coverage: villages × reach boxes, exact reach test, dissolve the discs.
        pairs = gpd.sjoin(vg, boxes, how="inner", predicate="intersects")
        pairs = pairs.rename(columns={"index_right": "ai"})
        ag = a.geometry.iloc[pairs["ai"].to_numpy()].reset_index(drop=True)
        vgeom = pairs.geometry.reset_index(drop=True)
        close = (vgeom.distance(ag) < pairs["r"].reset_index(drop=True)).to_numpy()
        pairs = pairs[close]
        used = np.unique(pairs["ai"].to_numpy())
        discs = a.geometry.iloc[used].buffer(a["r"].iloc[used], resolution=16)
        disc_of = pd.Series(discs.values, index=used)
        dgdf = gpd.GeoDataFrame({"code": pairs["code"].to_numpy()},
                                geometry=gpd.GeoSeries(disc_of.loc[pairs["ai"]].values,
                                                       crs=a.crs), crs=a.crs)
        if len(dgdf) == 0:
            cover = gpd.GeoDataFrame(geometry=gpd.GeoSeries([], crs=a.crs),
                                     index=pd.Index([], name="code"))
        else:
            cover = dgdf.dissolve(by="code")
        vin = vg.set_index("code").loc[cover.index]
        covered_area = cover.geometry.intersection(vin.geometry).area
        out[f"area_cov_{t}"] = (covered_area / vin["area"]).reindex(out.index).fillna(0.0)
        t_area = time.monotonic()
        # --- population coverage: settlements × reach boxes, exact distance <= r.
        sp = gpd.sjoin(s, boxes, how="inner", predicate="intersects")
        sg = sp.geometry.reset_index(drop=True)
        ag = a.geometry.iloc[sp["index_right"].to_numpy()].reset_index(drop=True)
        within = (sg.distance(ag) <= sp["r"].reset_index(drop=True)).to_numpy()
        covered_ids = np.unique(sp.index.to_numpy()[within])
        pop = s.groupby("village_code")["population"].sum()
        cov_pop = s.loc[covered_ids].groupby("village_code")["population"].sum()
        cov_pop = cov_pop.reindex(pop.index).fillna(0)
        pc = (cov_pop / pop).where(pop > 0)
        out[f"pop_cov_{t}"] = pc.reindex(out.index)
        t_pop = time.monotonic()
        # --- nearest serving asset from the demand point.
        out[f"nearest_{t}_m"] = nearest_dist(a, v["dp"].values)
        t_near = time.monotonic()
        # --- n (and road lengths).
        if t == "rural_road":
            rp = gpd.sjoin(vg, a, how="inner", predicate="intersects")
            rg = a.geometry.iloc[rp["index_right"].to_numpy()].reset_index(drop=True)
            length = rp.geometry.reset_index(drop=True).intersection(rg).length.to_numpy()
            rp = pd.DataFrame({"code": rp["code"].to_numpy(), "len": length,
                               "hard": np.where(rp["surface"].to_numpy() == "hardened",
                                                length, 0.0)})
            g = rp.groupby("code")
            out[f"n_{t}"] = g.size().reindex(out.index).fillna(0).astype(int)
            out["road_km"] = (g["len"].sum() / 1000.0).reindex(out.index).fillna(0.0)
            out["hardened_km"] = (g["hard"].sum() / 1000.0).reindex(out.index).fillna(0.0)
        else:
            n = a.groupby("village_code").size()
            out[f"n_{t}"] = n.reindex(out.index).fillna(0).astype(int)
        t_end = time.monotonic()
        log(f"worker {k}: {t:<16} {len(v)} villages: area_cov {t_area - t_start:6.1f} s, "
            f"pop_cov {t_pop - t_area:6.1f} s, nearest {t_near - t_pop:6.1f} s, "
            f"n {t_end - t_near:6.1f} s")
    cols = []
    for t in TYPES:
        cols += [f"n_{t}", f"nearest_{t}_m", f"area_cov_{t}", f"pop_cov_{t}"]
        if t == "rural_road":
            cols += ["road_km", "hardened_km"]
    return out[cols]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("registry")
    ap.add_argument("out")
    ap.add_argument("--villages", type=int, default=0, help="first N villages by code (0 = all)")
    ap.add_argument("--types", default="", help="comma-separated asset types (default: all)")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    types = [t for t in args.types.split(",") if t] or ALL_TYPES
    load(args.registry, types, args.villages)
    log("read; computing")
    if args.jobs > 1:
        with mp.get_context("fork").Pool(args.jobs) as pool:
            parts = pool.starmap(compute_part, [(k, args.jobs) for k in range(args.jobs)])
    else:
        parts = [compute_part(0, 1)]
    res = pd.concat(parts).sort_index()
    res.index.name = "code"
    res.to_csv(args.out, float_format="%.17g")
    log(f"wrote {len(res)} villages × {len(TYPES)} types to {args.out}")


if __name__ == "__main__":
    main()
