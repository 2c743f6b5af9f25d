#!/usr/bin/python3
"""QGIS itself (PyQGIS 3.22, headless) opens what qiancun writes.

  qgis_test.py build    QIANCUN SOURCE_DIR WORK   builds WORK/county.sqlite and the exports
  qgis_test.py registry QIANCUN SOURCE_DIR WORK   every registry layer, both providers, styled
  qgis_test.py project  QIANCUN SOURCE_DIR WORK   qiancun qgis-project: groups, styles, a render
  qgis_test.py pgbuild    QIANCUN SOURCE_DIR WORK  builds the same registry in the schema
                                                   qgis_county of the test PostgreSQL server
  qgis_test.py pgregistry QIANCUN SOURCE_DIR WORK  every layer of it through QGIS's postgres
                                                   provider, styled
  qgis_test.py pgproject  QIANCUN SOURCE_DIR WORK  qiancun qgis-project on it: postgres-provider
                                                   layers without a password, grouped, a render

The PostgreSQL tests read the server's PG* settings from $QIANCUN_PG_STATE_DIR/env, which
tests/testing/pg_server.sh writes.

Exit 0 when every check holds, 1 with one line per failed check, 77 (ctest: skipped) when
python3-qgis is not installed.
"""

import os
import shutil
import sqlite3
import subprocess
import sys
import zipfile

SKIP = 77

try:
    from qgis.core import (
        QgsApplication,
        QgsProject,
        QgsVectorLayer,
        QgsWkbTypes,
    )
except ImportError as e:  # pragma: no cover - depends on the machine
    print(f"SKIP: python3-qgis is not importable ({e}); tools/install_deps.sh installs it")
    sys.exit(SKIP)

# What every registry layer opens as: renderer type, whether labels are on, and for a single
# symbol its colour (QGIS's own default is a random one). A layer of the registry missing here
# fails the test, so a new layer cannot go out unstyled.
EXPECTED = {
    "village": ("categorizedSymbol", True, None),
    "settlement": ("singleSymbol", False, (120, 90, 60)),
    "urban": ("singleSymbol", False, (200, 200, 200)),
    "hazard": ("singleSymbol", False, (215, 48, 39)),
    "sewage_plant": ("categorizedSymbol", False, None),
    "rural_road": ("categorizedSymbol", False, None),
    "base_station_5g": ("categorizedSymbol", False, None),
    "cultural_hall": ("RuleRenderer", False, None),
    "courier_station": ("categorizedSymbol", False, None),
    "clinic": ("categorizedSymbol", False, None),
    "village_museum": ("categorizedSymbol", False, None),
    "sports_ground": ("categorizedSymbol", False, None),
    "workshop": ("categorizedSymbol", False, None),
    "smart_life_hall": ("categorizedSymbol", False, None),
    "agri_facility": ("categorizedSymbol", False, None),
    "village_metrics": ("graduatedSymbol", False, None),
    "gaps_sewage_plant": ("singleSymbol", False, (227, 26, 28)),
    "gaps_sewage_plant_settlements": ("singleSymbol", False, (227, 26, 28)),
    "village_classes": ("categorizedSymbol", True, None),
    "service_area_courier_station": ("graduatedSymbol", False, None),
    "service_area_courier_station_buffer": ("singleSymbol", False, (31, 120, 180)),
}

# Asset types of the sample county, each with a coverage style in village_metrics.
ASSET_TYPES = [
    "sewage_plant",
    "rural_road",
    "base_station_5g",
    "cultural_hall",
    "courier_station",
    "clinic",
    "village_museum",
    "sports_ground",
    "workshop",
    "smart_life_hall",
    "agri_facility",
]

failures = []
SOURCE_DIR = ""


def check(ok, message):
    if not ok:
        failures.append(message)
    return ok


def run(*argv):
    r = subprocess.run(list(argv), capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed ({r.returncode}): {r.stderr.strip()}")
    return r.stdout


def build(qiancun, source_dir, work):
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    reg = os.path.join(work, "county.sqlite")
    run(qiancun, "init", reg, "--crs", "EPSG:4549")
    run(qiancun, "load", reg, os.path.join(source_dir, "sample_maps", "county.toml"))
    run(qiancun, "metrics", reg)
    run(qiancun, "gaps", reg, "--type", "sewage_plant", "-o", os.path.join(work, "gaps.gpkg"))
    run(qiancun, "classify", reg)
    run(qiancun, "service-area", reg, "--type", "courier_station", "--distance", "2000")
    run(qiancun, "export", reg, "village_metrics", os.path.join(work, "metrics.gpkg"))
    run(qiancun, "export", reg, "sewage_plant", os.path.join(work, "plants.gpkg"))
    run(qiancun, "export", reg, "village_classes", os.path.join(work, "classes.shp"))


def start_qgis():
    QgsApplication.setPrefixPath("/usr", True)
    app = QgsApplication([], False)
    app.initQgis()
    return app


def registry_epsg(reg):
    with sqlite3.connect(reg) as db:
        return int(db.execute("SELECT value FROM meta WHERE key = 'crs_epsg'").fetchone()[0])


def spatial_tables(reg):
    """(table, geometry column) of every registered geometry column."""
    with sqlite3.connect(reg) as db:
        return [
            (r[0], r[1])
            for r in db.execute(
                "SELECT f_table_name, f_geometry_column FROM geometry_columns ORDER BY 1, 2"
            )
        ]


def open_layer(reg, table, provider, column="geom"):
    if provider == "ogr":
        # OGR names the layer of a second geometry column table(column).
        name = table if column == "geom" else f"{table}({column})"
        return QgsVectorLayer(f"{reg}|layername={name}", table, "ogr")
    return QgsVectorLayer(f"dbname='{reg}' table=\"{table}\" ({column})", table, "spatialite")


def symbol_rgb(symbol):
    c = symbol.color()
    return (c.red(), c.green(), c.blue())


def check_village_labels(layer, where):
    if not check(layer.labelsEnabled() and layer.labeling() is not None, f"{where}: no labels"):
        return
    s = layer.labeling().settings()
    check(s.fieldName == "name", f"{where}: labels show '{s.fieldName}', not the village name")
    check(
        s.scaleVisibility and s.minimumScale == 250000,
        f"{where}: labels not limited to 1:250,000 and closer "
        f"(scaleVisibility {s.scaleVisibility}, minimumScale {s.minimumScale})",
    )


def check_style(layer, table, where):
    """The renderer, colour and labels EXPECTED of a registry table's layer."""
    renderer, labels, rgb = EXPECTED.get(table, ("?", False, None))
    got = layer.renderer().type() if layer.renderer() else None
    check(got == renderer, f"{where}: renderer {got}, expected {renderer}")
    if rgb and got == "singleSymbol":
        check(
            symbol_rgb(layer.renderer().symbol()) == rgb,
            f"{where}: colour {symbol_rgb(layer.renderer().symbol())}, expected {rgb}",
        )
    check(
        bool(layer.labelsEnabled()) == labels,
        f"{where}: labels {'on' if layer.labelsEnabled() else 'off'}, expected {'on' if labels else 'off'}",
    )
    if labels:
        check_village_labels(layer, where)


# The registry's own bookkeeping: not layers, but QGIS's OGR provider lists every table of a
# SQLite file except GDAL's SpatiaLite system tables, layer_styles and idx_<table>_geom… tables.
BOOKKEEPING = ["import_log", "meta", "result_layers", "status_history"]
# The sample's dated events (SPEC §5.2, [event_types.water_test]): records without geometry,
# which QGIS opens as tables beside the map layers.
EVENTS = ["water_test"]


def check_layer_lists(reg, layers):
    """What ogrinfo, QGIS's OGR provider and a SpatiaLite connection list, exactly."""
    from qgis.core import QgsAbstractDatabaseProviderConnection, QgsDataSourceUri, QgsProviderRegistry

    tables = sorted({t for t, _ in layers})
    r = subprocess.run(["ogrinfo", "-ro", "-q", reg], capture_output=True, text=True)
    listed = sorted(line.split(": ", 1)[1].split(" (")[0] for line in r.stdout.splitlines() if ": " in line)
    check(listed == tables, f"ogrinfo lists {listed}, expected the map layers {tables}")

    ogr = QgsProviderRegistry.instance().providerMetadata("ogr")
    offered = sorted(d.name() for d in ogr.querySublayers(reg))
    check(
        offered == sorted(tables + BOOKKEEPING + EVENTS),
        f"QGIS (OGR) offers {offered}, expected the map layers and {BOOKKEEPING + EVENTS}",
    )

    uri = QgsDataSourceUri()
    uri.setDatabase(reg)
    connection = QgsProviderRegistry.instance().providerMetadata("spatialite").createConnection(uri.uri(), {})
    vector = sorted(
        (t.tableName(), t.geometryColumn())
        for t in connection.tables()
        if t.flags() & QgsAbstractDatabaseProviderConnection.Vector
    )
    check(vector == sorted(layers), f"QGIS (SpatiaLite) layers {vector}, expected {sorted(layers)}")
    aspatial = sorted(
        t.tableName() for t in connection.tables() if not t.flags() & QgsAbstractDatabaseProviderConnection.Vector
    )
    check(
        aspatial == sorted(BOOKKEEPING + EVENTS + ["layer_styles"]),
        f"QGIS (SpatiaLite) tables without geometry {aspatial}",
    )


# Chinese field aliases QGIS shows in the attribute table and forms, from the styles qiancun
# stores with the data (GDAL 3.6 writes no field alternative names to GeoPackage).
ALIASES = [
    ("sewage_plant", "capacity_m3d", "处理规模(吨/日)"),
    ("sewage_plant", "status", "状态"),
    ("cultural_hall(footprint_geom)", "stars", "星级"),
    ("village", "hemei_year", "和美乡村验收年份"),
    ("village_metrics", "cov_sewage_plant", "农村生活污水处理设施覆盖率"),
    ("village_metrics", "nearest_courier_station_m", "最近村级寄递物流综合服务站距离（米）"),
    ("gaps_sewage_plant", "uncovered_population", "未覆盖人口"),
]
EXPORT_ALIASES = [
    ("plants.gpkg", "sewage_plant", "capacity_m3d", "处理规模(吨/日)"),
    ("metrics.gpkg", "village_metrics", "cov_sewage_plant", "农村生活污水处理设施覆盖率"),
    ("gaps.gpkg", "gaps_sewage_plant", "uncovered_population", "未覆盖人口"),
]


def alias_of(layer, field):
    i = layer.fields().indexOf(field)
    return layer.fields().at(i).alias() if i >= 0 else f"(no field {field})"


def check_aliases(reg, work):
    for name, field, alias in ALIASES:
        table, _, column = name.partition("(")
        for provider in ("ogr", "spatialite"):
            layer = open_layer(reg, table, provider, column.rstrip(")") or "geom")
            got = alias_of(layer, field)
            check(got == alias, f"{name} ({provider}): alias of {field} is {got!r}, expected {alias!r}")
    for file, layer_name, field, alias in EXPORT_ALIASES:
        layer = QgsVectorLayer(os.path.join(work, file) + f"|layername={layer_name}", layer_name, "ogr")
        got = alias_of(layer, field)
        check(got == alias, f"{file}: alias of {field} is {got!r}, expected {alias!r}")


def check_registry(reg, work):
    epsg = registry_epsg(reg)
    layers = spatial_tables(reg)
    tables = sorted({t for t, _ in layers})
    check(
        tables == sorted(EXPECTED),
        f"registry layers {tables} differ from the expected {sorted(EXPECTED)}",
    )
    # One geometry type per column: halls have their points and their footprints apart.
    check(
        [c for t, c in layers if t == "cultural_hall"] == ["footprint_geom", "geom"]
        and all(c == "geom" for t, c in layers if t != "cultural_hall"),
        f"geometry columns {layers}",
    )
    hall_types = {}
    for table, column in layers:
        for provider in ("ogr", "spatialite"):
            where = f"{table}({column}) ({provider})"
            layer = open_layer(reg, table, provider, column)
            if not check(layer.isValid(), f"{where}: not valid"):
                continue
            check_style(layer, table, where)
            if table == "cultural_hall":
                hall_types[(column, provider)] = QgsWkbTypes.displayString(layer.wkbType())
            check(
                layer.crs().authid() == f"EPSG:{epsg}",
                f"{where}: CRS {layer.crs().authid()!r}, the registry's is EPSG:{epsg}",
            )
            check(
                layer.wkbType() not in (QgsWkbTypes.Unknown, QgsWkbTypes.NoGeometry),
                f"{where}: no geometry type",
            )
            check(
                sum(1 for f in layer.getFeatures() if f.hasGeometry()) > 0,
                f"{where}: no features with a geometry",
            )
    check(
        hall_types
        == {
            ("geom", "ogr"): "Point",
            ("geom", "spatialite"): "Point",
            ("footprint_geom", "ogr"): "MultiPolygon",
            ("footprint_geom", "spatialite"): "MultiPolygon",
        },
        f"cultural_hall: geometry types {hall_types}",
    )

    check_layer_lists(reg, layers)
    check_aliases(reg, work)

    village = open_layer(reg, "village", "ogr")
    check(village.renderer().classAttribute() == "class", "village: not classified by class")
    road = open_layer(reg, "rural_road", "ogr")
    check(road.renderer().classAttribute() == "grade", "rural_road: not classified by grade")
    plants = open_layer(reg, "sewage_plant", "ogr")
    cats = {c.value(): c.label() for c in plants.renderer().categories()}
    check(
        plants.renderer().classAttribute() == "status" and cats.get("operating") == "运行",
        f"sewage_plant: not by status with Chinese labels: {cats}",
    )
    classes = open_layer(reg, "village_classes", "ogr")
    labels = sorted(c.label() for c in classes.renderer().categories())
    check(
        labels == sorted(["城郊融合类", "集聚建设类", "整治提升类", "特色保护类", "搬迁撤并类"]),
        f"village_classes: categories {labels}",
    )
    gaps = open_layer(reg, "gaps_sewage_plant", "ogr")
    r, g, b = symbol_rgb(gaps.renderer().symbol())
    check(r > 200 and g < 60 and b < 60, f"gaps_sewage_plant: not red but {(r, g, b)}")

    reach = open_layer(reg, "service_area_courier_station", "ogr")
    ranges = reach.renderer().ranges()
    check(
        reach.renderer().classAttribute() == "distance_m"
        and ranges
        and all(x.label().endswith(" m") for x in ranges)
        and ranges[-1].upperValue() >= 2000,
        "service_area: classes not in metres up to 2,000 m: "
        f"{[(x.lowerValue(), x.upperValue(), x.label()) for x in ranges]}",
    )
    if ranges:
        r, g, _ = symbol_rgb(ranges[0].symbol())
        check(g > r, f"service_area: the nearest class is not green but {symbol_rgb(ranges[0].symbol())}")
        r, g, _ = symbol_rgb(ranges[-1].symbol())
        check(r > g, "service_area: the furthest class is not red")

    # village_metrics: graduated on sewage by default, one named style per asset type in the
    # list QGIS offers ("Load Style" → "From database"), each classifying its own coverage.
    metrics = open_layer(reg, "village_metrics", "spatialite")
    check(
        metrics.renderer().classAttribute() == "cov_sewage_plant",
        f"village_metrics: default classifies {metrics.renderer().classAttribute()}",
    )
    related, ids, names, _descriptions, _err = metrics.listStylesInDatabase()
    own = dict(zip(names[:related], ids[:related]))
    for t in ASSET_TYPES:
        name = f"cov_{t}"
        if not check(name in own, f"village_metrics: no style {name} among {names[:related]}"):
            continue
        qml, _ = metrics.getStyleFromDatabase(own[name])
        other = open_layer(reg, "village_metrics", "spatialite")
        from qgis.PyQt.QtXml import QDomDocument

        doc = QDomDocument()
        doc.setContent(qml)
        ok, err = other.importNamedStyle(doc)
        check(ok, f"village_metrics: style {name} does not load: {err}")
        check(
            other.renderer().classAttribute() == name,
            f"village_metrics: style {name} classifies {other.renderer().classAttribute()}",
        )

    # Exports: a GeoPackage carries its default style; a Shapefile's .qml names its DBF field.
    gaps_gpkg = QgsVectorLayer(os.path.join(work, "gaps.gpkg") + "|layername=gaps_sewage_plant", "g", "ogr")
    check(
        gaps_gpkg.isValid() and gaps_gpkg.renderer().type() == "singleSymbol",
        "gaps.gpkg: default style not loaded",
    )
    gpkg = QgsVectorLayer(os.path.join(work, "metrics.gpkg") + "|layername=village_metrics", "m", "ogr")
    check(
        gpkg.isValid() and gpkg.renderer().type() == "graduatedSymbol",
        f"metrics.gpkg: default style not loaded ({gpkg.renderer().type() if gpkg.renderer() else None})",
    )
    plants_gpkg = QgsVectorLayer(os.path.join(work, "plants.gpkg") + "|layername=sewage_plant", "p", "ogr")
    check(
        plants_gpkg.isValid() and plants_gpkg.renderer().type() == "categorizedSymbol",
        "plants.gpkg: not coloured by status",
    )
    shp = QgsVectorLayer(os.path.join(work, "classes.shp"), "c", "ogr")
    ok = check(shp.isValid(), "classes.shp: not valid")
    if ok:
        msg, loaded = shp.loadNamedStyle(os.path.join(work, "classes.qml"))
        attr = shp.renderer().classAttribute() if loaded and shp.renderer().type() == "categorizedSymbol" else None
        check(
            attr in shp.fields().names(),
            f"classes.shp: its style classifies {attr!r}, which is not among {shp.fields().names()}",
        )
        check_village_labels(shp, "classes.shp")


# The project's groups, top first, and the registry tables of each (cultural_hall twice: its
# points and its footprints are two layers).
PROJECT_GROUPS = {
    "设施": [
        "sewage_plant",
        "base_station_5g",
        "cultural_hall",
        "courier_station",
        "agri_facility",
        "clinic",
        "smart_life_hall",
        "sports_ground",
        "village_museum",
        "workshop",
        "rural_road",
        "cultural_hall",
    ],
    "分析": [
        "gaps_sewage_plant_settlements",
        "service_area_courier_station",
        "village_metrics",
        "gaps_sewage_plant",
        "village_classes",
        "service_area_courier_station_buffer",
    ],
    "基础": ["settlement", "urban", "hazard", "village"],
}


def table_of(layer):
    """The registry table of a project layer (its OGR layer name without a (column), or the
    postgres provider's table)."""
    if layer.providerType() == "postgres":
        from qgis.core import QgsDataSourceUri

        return QgsDataSourceUri(layer.source()).table()
    uri = layer.source()
    name = uri.split("layername=")[1].split("|")[0] if "layername=" in uri else uri
    return name.split("(")[0]


def has_cjk(text):
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def check_project(qiancun, reg, work):
    # Written next to the registry, then moved with it: the paths inside are relative.
    run(qiancun, "qgis-project", reg, "-o", os.path.join(work, "county.qgz"))
    with zipfile.ZipFile(os.path.join(work, "county.qgz")) as z:
        qgs = z.read("county.qgs").decode("utf-8")
    check(
        "<datasource>./county.sqlite|layername=village</datasource>" in qgs and work not in qgs,
        "county.qgz: the registry is not referenced relative to the project",
    )
    moved = os.path.join(work, "moved")
    shutil.rmtree(moved, ignore_errors=True)
    os.makedirs(moved)
    shutil.copy(os.path.join(work, "county.qgz"), moved)
    shutil.copy(reg, moved)
    check_project_layers(os.path.join(moved, "county.qgz"), registry_epsg(reg), os.path.join(work, "county.png"), "ogr")


def check_project_layers(path, epsg, png, provider):
    """The project QGIS reads from `path`: groups, names, styles, labels, every layer valid and
    read through `provider`, and a render that is not blank."""
    project = QgsProject.instance()
    name = os.path.basename(path)
    if not check(project.read(path), f"{name}: QGIS cannot read it"):
        return
    check(project.crs().authid() == f"EPSG:{epsg}", f"{name}: project CRS {project.crs().authid()!r}")
    root = project.layerTreeRoot()
    groups = [g.name() for g in root.children()]
    check(groups == list(PROJECT_GROUPS), f"groups {groups}, expected {list(PROJECT_GROUPS)}")
    for group in root.children():
        tables = [table_of(n.layer()) if n.layer() else None for n in group.children()]
        expected = PROJECT_GROUPS.get(group.name(), [])
        check(tables == expected, f"group {group.name()}: layers {tables}, expected {expected}")
        for node in group.children():
            layer = node.layer()
            if not check(layer is not None and layer.isValid(), f"{node.name()}: missing or not valid"):
                continue
            table = table_of(layer)
            where = f"project layer {layer.name()} ({table})"
            check(layer.providerType() == provider, f"{where}: provider {layer.providerType()}, expected {provider}")
            check(has_cjk(layer.name()), f"{where}: no Chinese name")
            check(layer.crs().authid() == f"EPSG:{epsg}", f"{where}: CRS {layer.crs().authid()}")
            check(layer.featureCount() > 0, f"{where}: no features")
            check_style(layer, table, where)
    halls = [l.wkbType() for l in project.mapLayers().values() if table_of(l) == "cultural_hall"]
    check(
        sorted(QgsWkbTypes.geometryType(t) for t in halls)
        == [QgsWkbTypes.PointGeometry, QgsWkbTypes.PolygonGeometry],
        f"cultural_hall: not one point and one footprint layer: {halls}",
    )
    metrics = [l for l in project.mapLayers().values() if table_of(l) == "village_metrics"]
    if check(len(metrics) == 1, "village_metrics: not exactly once in the project"):
        manager = metrics[0].styleManager()
        check(
            sorted(manager.styles()) == sorted(f"cov_{t}" for t in ASSET_TYPES)
            and manager.currentStyle() == "cov_sewage_plant",
            f"village_metrics: styles {manager.styles()}, current {manager.currentStyle()}",
        )
        manager.setCurrentStyle("cov_courier_station")
        check(
            metrics[0].renderer().classAttribute() == "cov_courier_station",
            "village_metrics: the courier style does not classify cov_courier_station",
        )
        manager.setCurrentStyle("cov_sewage_plant")
    render_project(project, png)


def render_project(project, png):
    from qgis.core import QgsMapRendererSequentialJob, QgsMapSettings
    from qgis.PyQt.QtCore import QSize
    from qgis.PyQt.QtGui import QColor

    village = [l for l in project.mapLayers().values() if table_of(l) == "village"][0]
    settings = QgsMapSettings()
    settings.setLayers(project.layerTreeRoot().checkedLayers())
    settings.setDestinationCrs(project.crs())
    settings.setExtent(village.extent())
    settings.setOutputSize(QSize(800, 800))
    settings.setBackgroundColor(QColor(255, 255, 255))
    job = QgsMapRendererSequentialJob(settings)
    job.start()
    job.waitForFinished()
    image = job.renderedImage()
    check(image.save(png), f"cannot save {png}")
    colours = set()
    painted = 0
    total = 0
    for y in range(0, image.height(), 4):
        for x in range(0, image.width(), 4):
            rgb = image.pixel(x, y) & 0xFFFFFF
            colours.add(rgb)
            total += 1
            painted += rgb != 0xFFFFFF
    check(
        len(colours) >= 20 and painted > total // 2,
        f"{png}: looks blank ({len(colours)} colours, {painted} of {total} sampled pixels painted)",
    )
    print(f"rendered {png}: {len(colours)} colours, {100 * painted // total} % painted")


# The PostgreSQL registry: the same county in a schema of the run's test server.
PG_SCHEMA = "qgis_county"


def pg_env():
    state = os.environ.get("QIANCUN_PG_STATE_DIR", "")
    env = {}
    try:
        with open(os.path.join(state, "env"), encoding="utf-8") as f:
            for line in f:
                key, _, value = line.rstrip("\n").partition("=")
                env[key] = value
    except OSError as e:
        sys.exit(f"no test PostgreSQL server ({e}): run with ctest, whose fixture `postgres` starts it")
    return env


def pg_uri(env):
    return f"{env['QIANCUN_PG_URI']}?schema={PG_SCHEMA}"


def psql(env, sql):
    out = run(
        "psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", env["PGHOST"], "-p", env["PGPORT"],
        "-U", env["PGUSER"], "-d", env["PGDATABASE"], "-c", sql,
    )
    return [line.split("|") for line in out.splitlines() if line]


def pg_build(qiancun, work):
    env = pg_env()
    os.makedirs(work, exist_ok=True)
    psql(env, f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE")
    uri = pg_uri(env)
    run(qiancun, "init", uri, "--crs", "EPSG:4549")
    run(qiancun, "load", uri, os.path.join(SOURCE_DIR, "sample_maps", "county.toml"))
    run(qiancun, "metrics", uri)
    run(qiancun, "gaps", uri, "--type", "sewage_plant", "-o", os.path.join(work, "pg_gaps.gpkg"))
    run(qiancun, "classify", uri)
    run(qiancun, "service-area", uri, "--type", "courier_station", "--distance", "2000")


def pg_layer(env, table, column="geom"):
    """A registry layer as QGIS's postgres provider opens it: host, port, database, user, schema,
    table and geometry column; no password (trust on the test server)."""
    from qgis.core import QgsDataSourceUri

    uri = QgsDataSourceUri()
    uri.setConnection(env["PGHOST"], env["PGPORT"], env["PGDATABASE"], env["PGUSER"], "")
    uri.setDataSource(PG_SCHEMA, table, column)
    return QgsVectorLayer(uri.uri(False), table, "postgres")


def check_pg_registry():
    env = pg_env()
    columns = psql(
        env,
        "SELECT f_table_name, f_geometry_column, type, srid FROM geometry_columns "
        f"WHERE f_table_schema = '{PG_SCHEMA}' ORDER BY 1, 2",
    )
    tables = sorted({t for t, *_ in columns})
    check(tables == sorted(EXPECTED), f"PostGIS registry layers {tables}, expected {sorted(EXPECTED)}")
    for table, column, pg_type, srid in columns:
        where = f"{table}({column}) (postgres)"
        layer = pg_layer(env, table, column)
        if not check(layer.isValid(), f"{where}: not valid"):
            continue
        check_style(layer, table, where)
        geometry = QgsWkbTypes.displayString(layer.wkbType())
        check(geometry.upper() == pg_type, f"{where}: geometry {geometry}, PostGIS has {pg_type}")
        check(layer.crs().authid() == f"EPSG:{srid}", f"{where}: CRS {layer.crs().authid()!r}, PostGIS has {srid}")
        count = int(psql(env, f'SELECT count("{column}") FROM {PG_SCHEMA}."{table}"')[0][0])
        with_geometry = sum(1 for f in layer.getFeatures() if f.hasGeometry())
        check(
            with_geometry == count and count > 0,
            f"{where}: {with_geometry} features with a geometry, PostGIS has {count}",
        )
    for name, field, alias in ALIASES:
        table, _, column = name.partition("(")
        got = alias_of(pg_layer(env, table, column.rstrip(")") or "geom"), field)
        check(got == alias, f"{name} (postgres): alias of {field} is {got!r}, expected {alias!r}")

    village = pg_layer(env, "village")
    check(village.renderer().classAttribute() == "class", "village (postgres): not classified by class")
    metrics = pg_layer(env, "village_metrics")
    check(
        metrics.renderer().classAttribute() == "cov_sewage_plant",
        f"village_metrics (postgres): default classifies {metrics.renderer().classAttribute()}",
    )
    related, _ids, names, _descriptions, _err = metrics.listStylesInDatabase()
    check(
        sorted(names[:related]) == sorted(f"cov_{t}" for t in ASSET_TYPES),
        f"village_metrics (postgres): styles in the database {names[:related]}",
    )



def check_pg_project(qiancun, work):
    env = pg_env()
    path = os.path.join(work, "pg_county.qgz")
    run(qiancun, "qgis-project", pg_uri(env), "-o", path)
    with zipfile.ZipFile(path) as z:
        qgs = z.read("pg_county.qgs").decode("utf-8")
    connection = f"dbname='{env['PGDATABASE']}' host='{env['PGHOST']}' port={env['PGPORT']} user='{env['PGUSER']}'"
    check(
        f"<datasource>{connection} key='fid' srid=4549 type=MultiPolygon checkPrimaryKeyUnicity='1' "
        f'table="{PG_SCHEMA}"."village" (geom)</datasource>' in qgs.replace("&quot;", '"').replace("&apos;", "'"),
        "pg_county.qgz: the villages are not a postgres layer of the URI's host, port, database, user and schema",
    )
    check("password" not in qgs, "pg_county.qgz: holds a password")
    check_project_layers(path, 4549, os.path.join(work, "pg_county.png"), "postgres")


def main():
    global SOURCE_DIR
    if len(sys.argv) != 5 or sys.argv[1] not in ("build", "registry", "project", "pgbuild", "pgregistry", "pgproject"):
        sys.exit(__doc__)
    what, qiancun, SOURCE_DIR, work = sys.argv[1:]
    if what == "build":
        build(qiancun, SOURCE_DIR, work)
        return 0
    if what == "pgbuild":
        pg_build(qiancun, work)
        return 0
    app = start_qgis()
    reg = os.path.join(work, "county.sqlite")
    if what == "registry":
        check_registry(reg, work)
    elif what == "pgregistry":
        check_pg_registry()
    elif what == "pgproject":
        check_pg_project(qiancun, work)
    else:
        check_project(qiancun, reg, work)
    del app
    for f in failures:
        print(f"FAIL: {f}")
    print(f"{len(failures)} failed checks" if failures else "all checks hold")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
