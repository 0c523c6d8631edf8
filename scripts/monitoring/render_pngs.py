#!/usr/bin/env python3
"""Renders each Grafana dashboard's panels from a real Prometheus as one PNG: docs/img/<uid>.png.

Grafana cannot be installed here, so this draws what the dashboards show with matplotlib (Agg):
every panel at its gridPos, with its queries run against Prometheus (query_range for time
series, instant queries for stats, bar gauges, pies, tables and the map), template variables
substituted as in check_dashboards.py, and the panel's units, thresholds, table transformations
(merge, organize, sort) and value mappings applied.

By default it starts its own stack (scripts/monitoring/stack.py): the demo exporter, the demo's
history from `entra-exporter backfill --demo` loaded with `promtool tsdb create-blocks-from`
(so the 30-day and 12-month panels have shape), and Prometheus with prometheus/rules; it lets them
run --warmup seconds so the live rates have shape too. --prometheus URL renders from a running one.

The map panel is drawn without a basemap (no map data ships here): markers at each country's
centroid on a longitude/latitude grid.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyBboxPatch, Rectangle  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import check_dashboards  # noqa: E402
import stack  # noqa: E402

REPO = stack.REPO
OUT = REPO / "docs" / "img"

# Grafana's dark theme.
BG, PANEL, TEXT, MUTED, GRID = "#111217", "#181b1f", "#ccccdc", "#8e8e9a", "#2c3235"
COLORS = {
    "green": "#73BF69", "red": "#F2495C", "orange": "#FF9830", "yellow": "#FADE2A", "blue": "#5794F2",
    "purple": "#B877D9", "dark-green": "#37872D", "text": TEXT, "transparent": PANEL,
}
PALETTE = ["#73BF69", "#F2CC0C", "#8AB8FF", "#FF780A", "#F2495C", "#5794F2", "#B877D9", "#705DA0",
           "#37872D", "#FADE2A", "#447EBC", "#C15C17", "#890F02", "#0A437C", "#6D1F62", "#584477"]
UNIT_W, UNIT_H = 80, 34  # pixels per grid column and grid row at 100 dpi

# Centroids (lat, lon) of the countries the map may show; others are listed, not placed.
CENTROIDS = {
    "US": (39.8, -98.6), "CA": (56.1, -106.3), "MX": (23.6, -102.6), "BR": (-14.2, -51.9), "AR": (-38.4, -63.6),
    "CL": (-35.7, -71.5), "CO": (4.6, -74.3), "PE": (-9.2, -75.0), "GB": (55.4, -3.4), "IE": (53.4, -8.2),
    "FR": (46.2, 2.2), "DE": (51.2, 10.5), "NL": (52.1, 5.3), "BE": (50.5, 4.5), "ES": (40.5, -3.7),
    "PT": (39.4, -8.2), "IT": (41.9, 12.6), "CH": (46.8, 8.2), "AT": (47.5, 14.6), "PL": (51.9, 19.1),
    "CZ": (49.8, 15.5), "SE": (60.1, 18.6), "NO": (60.5, 8.5), "DK": (56.3, 9.5), "FI": (61.9, 25.7),
    "RU": (61.5, 105.3), "UA": (48.4, 31.2), "TR": (39.0, 35.2), "IL": (31.0, 34.9), "AE": (23.4, 53.8),
    "SA": (23.9, 45.1), "EG": (26.8, 30.8), "NG": (9.1, 8.7), "ZA": (-30.6, 22.9), "KE": (-0.0, 37.9),
    "IN": (20.6, 79.0), "PK": (30.4, 69.3), "CN": (35.9, 104.2), "JP": (36.2, 138.3), "KR": (35.9, 127.8),
    "VN": (14.1, 108.3), "TH": (15.9, 101.0), "SG": (1.35, 103.8), "MY": (4.2, 102.0), "ID": (-0.8, 113.9),
    "PH": (12.9, 121.8), "AU": (-25.3, 133.8), "NZ": (-40.9, 174.9), "TW": (23.7, 121.0), "HK": (22.3, 114.2),
}


# ---------------------------------------------------------------------------------------------
# Units and thresholds.


def fmt(value: float, unit: str = "short", decimals=None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if unit == "percentunit":
        return f"{value * 100:.{1 if decimals is None else int(decimals)}f}%"
    if unit == "dateTimeFromNow":
        delta = value / 1000 - time.time()
        words = _duration(abs(delta))
        return f"in {words}" if delta > 0 else f"{words} ago"
    if unit == "d":
        return f"{value:.{1 if decimals is None else int(decimals)}f} d"
    if unit == "s":
        return _duration(value) if abs(value) >= 60 else f"{value:.{2 if decimals is None else int(decimals)}f} s"
    suffix = {"ops": " ops/s", "reqps": " req/s"}.get(unit, "")
    return _short(value, decimals) + suffix


def _short(value: float, decimals=None) -> str:
    for size, letter in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= size:
            return f"{value / size:.{1 if decimals is None else int(decimals)}f}{letter}"
    if decimals is not None:
        return f"{value:.{int(decimals)}f}"
    if value == int(value):
        return str(int(value))
    return f"{value:.3g}" if abs(value) < 1 else f"{value:.1f}"


def _duration(seconds: float) -> str:
    for size, name in ((365 * 86400, "years"), (30 * 86400, "months"), (86400, "days"), (3600, "hours"), (60, "min")):
        if seconds >= size:
            return f"{seconds / size:.1f} {name}"
    return f"{seconds:.0f} s"


def color(name: str) -> str:
    return COLORS.get(name, name if name.startswith("#") else TEXT)


def threshold_color(value: float, thresholds: dict | None) -> str:
    chosen = "green"
    for step in (thresholds or {}).get("steps", []):
        if step.get("value") is None or (value is not None and value >= step["value"]):
            chosen = step.get("color", chosen)
    return color(chosen)


# ---------------------------------------------------------------------------------------------
# Queries.


def parse_duration(text: str) -> float:
    """'now-30d' or '1y' -> seconds."""
    text = text.replace("now-", "")
    mo = re.fullmatch(r"(\d+)([smhdwMy])", text)
    if not mo:
        return 6 * 3600
    n, u = int(mo.group(1)), mo.group(2)
    return n * {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "M": 30 * 86400, "y": 365 * 86400}[u]


def legend(fmt_: str, metric: dict) -> str:
    if not fmt_ or fmt_ == "__auto":
        labels = {k: v for k, v in metric.items() if k not in ("__name__", "job", "instance")}
        return ", ".join(f"{k}={v}" for k, v in labels.items()) or metric.get("__name__", "value")
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda mo: metric.get(mo.group(1), ""), fmt_).strip(" ·")


class Renderer:
    def __init__(self, prom: stack.Prometheus, tenant: str = ".*"):
        self.prom = prom
        self.tenant = tenant

    def exprs(self, d: dict, panel: dict, range_s: float, step: float) -> list[tuple[dict, str]]:
        variables = check_dashboards.dashboard_variables(d, self.tenant)
        builtins = dict(check_dashboards.BUILTINS)
        builtins.update({
            "__range": f"{int(range_s)}s", "__range_s": str(int(range_s)), "__range_ms": str(int(range_s * 1000)),
            "__interval": f"{max(int(step), 1)}s", "__rate_interval": f"{max(120, int(4 * step))}s",
        })
        saved = dict(check_dashboards.BUILTINS)
        check_dashboards.BUILTINS.update(builtins)
        try:
            return [(t, check_dashboards.substitute(t.get("expr", ""), variables)) for t in panel.get("targets", [])]
        finally:
            check_dashboards.BUILTINS.clear()
            check_dashboards.BUILTINS.update(saved)

    def started(self) -> float:
        """When Prometheus started: live data begins there."""
        if not hasattr(self, "_started"):
            text = self.prom.api("status/runtimeinfo").get("data", {}).get("startTime", "")
            mo = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?", text)
            if mo:
                whole = datetime.strptime(mo.group(1), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
                self._started = whole.timestamp() + float(mo.group(2) or 0)
            else:
                self._started = time.time() - 600
        return self._started

    def instant(self, expr: str) -> list[dict]:
        for attempt in range(3):
            doc = self.prom.query(expr)
            if doc.get("status") != "success":
                print(f"  query failed: {doc.get('error')}: {expr}", file=sys.stderr)
                return []
            if doc["data"]["result"]:
                return doc["data"]["result"]
            time.sleep(2)  # one failed scrape marks everything stale until the next one
        return []

    def range(self, expr: str, start: float, end: float) -> list[dict]:
        step = max((end - start) / 240, 1)
        doc = self.prom.query_range(expr, start, end, step)
        result = doc.get("data", {}).get("result", []) if doc.get("status") == "success" else []
        first = min((float(s["values"][0][0]) for s in result if s["values"]), default=None)
        # Live-only series cover the last minutes of a long range: zoom in so they have shape.
        if first is not None and first > start + 0.2 * (end - start) and self.started() > start:
            start = self.started()
            step = max((end - start) / 240, 1)
            doc = self.prom.query_range(expr, start, end, step)
            result = doc.get("data", {}).get("result", []) if doc.get("status") == "success" else []
        return result


# ---------------------------------------------------------------------------------------------
# Panels.


def field_defaults(panel: dict) -> dict:
    return panel.get("fieldConfig", {}).get("defaults", {})


def no_data(ax) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    ax.text(0.5, 0.5, "No data", ha="center", va="center", color=MUTED, fontsize=12, transform=ax.transAxes)


def style(ax, title: str) -> None:
    ax.set_facecolor(PANEL)
    for s in ax.spines.values():
        s.set_color(GRID)
    ax.tick_params(colors=MUTED, labelsize=7)
    ax.set_title(title, color=TEXT, fontsize=9, loc="left", pad=4, fontweight="bold")


def draw_stat(fig, rect, panel, r: Renderer, d, range_s):
    defaults = field_defaults(panel)
    (t, expr), = r.exprs(d, panel, range_s, 60)[:1]
    result = r.instant(expr)
    ax = fig.add_axes(rect)
    style(ax, panel["title"])
    ax.set_xticks([])
    ax.set_yticks([])
    if not result:
        ax.text(0.5, 0.45, "No data", ha="center", va="center", color=MUTED, fontsize=14, transform=ax.transAxes)
        return
    background = panel.get("options", {}).get("colorMode") == "background"
    n = len(result)
    for i, sample in enumerate(result):
        value = float(sample["value"][1])
        c = threshold_color(value, defaults.get("thresholds"))
        x0 = i / n
        if background:
            ax.add_patch(Rectangle((x0, 0), 1 / n, 1, transform=ax.transAxes, color=c, alpha=0.85))
        shown = legend(t.get("legendFormat"), sample["metric"]) if panel.get("options", {}).get("textMode") == "name" else fmt(value, defaults.get("unit", "short"), defaults.get("decimals"))
        ax.text(x0 + 0.5 / n, 0.42, shown, ha="center", va="center",
                color="#ffffff" if background else c, fontsize=20 if n == 1 else 14, fontweight="bold", transform=ax.transAxes)
        if n > 1 and panel.get("options", {}).get("textMode") != "name":
            ax.text(x0 + 0.5 / n, 0.1, legend(t.get("legendFormat"), sample["metric"]), ha="center", color=MUTED, fontsize=7, transform=ax.transAxes)


def draw_timeseries(fig, rect, panel, r: Renderer, d, range_s):
    defaults = field_defaults(panel)
    custom = defaults.get("custom", {})
    unit = defaults.get("unit", "short")
    span = parse_duration(panel["timeFrom"]) if panel.get("timeFrom") else range_s
    end = time.time()
    ax = fig.add_axes(rect)
    style(ax, panel["title"])
    series = []
    for t, expr in r.exprs(d, panel, span, span / 240):
        for s in r.range(expr, end - span, end):
            xs, ys = [], []
            previous = None
            stamps = [float(ts) for ts, _ in s["values"]]
            gap = 1.5 * min((b - a for a, b in zip(stamps, stamps[1:])), default=span)
            for ts, v in s["values"]:
                if previous is not None and float(ts) - previous > gap:
                    # A series absent for a while (e.g. out of a topk) is drawn with a gap.
                    xs.append(datetime.fromtimestamp(previous + 1, tz=timezone.utc))
                    ys.append(float("nan"))
                xs.append(datetime.fromtimestamp(float(ts), tz=timezone.utc))
                ys.append(float(v))
                previous = float(ts)
            series.append((legend(t.get("legendFormat"), s["metric"]), xs, ys))
    if not series:
        no_data(ax)
        return
    series = series[:16]
    stacked = custom.get("stacking", {}).get("mode") == "normal"
    bars = custom.get("drawStyle") == "bars"
    steps = custom.get("lineInterpolation") == "stepAfter" or bars
    base: dict = {}
    for i, (name, xs, ys) in enumerate(series):
        c = PALETTE[i % len(PALETTE)]
        bottom = [base.get(x, 0.0) for x in xs] if stacked else [0.0] * len(xs)
        top = [b + y for b, y in zip(bottom, ys)]
        if stacked:
            for x, y in zip(xs, top):
                base[x] = y
        drawstyle = "steps-post" if steps else "default"
        ax.plot(xs, top, color=c, linewidth=1.2, label=name, drawstyle=drawstyle)
        ax.fill_between(xs, bottom, top, color=c, alpha=0.5 if bars else 0.12, step="post" if steps else None, linewidth=0)
    if custom.get("thresholdsStyle", {}).get("mode") == "line":
        for stp in defaults.get("thresholds", {}).get("steps", []):
            if stp.get("value") is not None:
                ax.axhline(stp["value"], color=color(stp["color"]), linestyle="--", linewidth=0.8)
    ax.grid(color=GRID, linewidth=0.5)
    ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: fmt(v, unit)))
    first = min(xs[0] for _, xs, _ in series if xs)
    last = max(xs[-1] for _, xs, _ in series if xs)
    days = (last - first).total_seconds() / 86400
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=3, maxticks=8))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M:%S" if days < 0.01 else "%H:%M" if days < 2 else "%b %d" if days < 90 else "%b %Y", tz=timezone.utc))
    if defaults.get("min") is not None:
        ax.set_ylim(bottom=defaults["min"])
    table_legend = panel.get("options", {}).get("legend", {}).get("displayMode") == "table"
    leg = ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1.0) if table_legend else None,
                    ncol=1 if table_legend else min(4, len(series)), frameon=False, labelcolor=TEXT)
    if not table_legend:
        leg.set_bbox_to_anchor((0, -0.12, 1, 0), transform=ax.transAxes)
        leg._loc = 9  # upper center, under the axes


def draw_bargauge(fig, rect, panel, r: Renderer, d, range_s):
    defaults = field_defaults(panel)
    unit = defaults.get("unit", "short")
    (t, expr), = r.exprs(d, panel, range_s, 60)[:1]
    result = r.instant(expr)
    ax = fig.add_axes(rect)
    style(ax, panel["title"])
    rows = [(legend(t.get("legendFormat"), s["metric"]), float(s["value"][1])) for s in result][:14]
    if not rows:
        no_data(ax)
        return
    names = [n for n, _ in rows][::-1]
    # Make room on the left for the longest name (about 5.3 px per character at this size).
    fig_w = fig.get_size_inches()[0] * fig.dpi
    x0, y0, w0, h0 = rect
    left = min(0.45 * w0, (min(max(len(n) for n in names), 34) * 5.3 + 12) / fig_w)
    ax.set_position([x0 + left, y0, w0 - left, h0])
    values = [v for _, v in rows][::-1]
    top = defaults.get("max") or max(values + [1e-9])
    ax.barh(range(len(values)), [top] * len(values), color=GRID, height=0.7)
    ax.barh(range(len(values)), values, color=[threshold_color(v, defaults.get("thresholds")) for v in values], height=0.7)
    ax.set_yticks(range(len(values)), [n[:34] for n in names], fontsize=7, color=TEXT)
    for i, v in enumerate(values):
        ax.text(top * 1.01, i, fmt(v, unit, defaults.get("decimals")), va="center", color=TEXT, fontsize=7)
    ax.set_xlim(0, top * 1.25)
    ax.set_xticks([])


def draw_pie(fig, rect, panel, r: Renderer, d, range_s):
    defaults = field_defaults(panel)
    (t, expr), = r.exprs(d, panel, range_s, 60)[:1]
    result = [s for s in r.instant(expr) if float(s["value"][1]) > 0]
    ax = fig.add_axes(rect)
    style(ax, panel["title"])
    if not result:
        no_data(ax)
        return
    result.sort(key=lambda s: -float(s["value"][1]))
    values = [float(s["value"][1]) for s in result]
    names = [legend(t.get("legendFormat"), s["metric"]) for s in result]
    total = sum(values)
    ax.pie(values, colors=PALETTE[: len(values)], startangle=90, counterclock=False,
           wedgeprops={"width": 0.4, "edgecolor": PANEL}, center=(-0.6, 0), radius=0.9)
    ax.set_xlim(-1.6, 2.4)
    ax.set_aspect("equal")
    labels = [f"{n[:20]}  {fmt(v, defaults.get('unit', 'short'))}  {v / total:.0%}" for n, v in zip(names, values)]
    handles = [Rectangle((0, 0), 1, 1, color=PALETTE[i % len(PALETTE)]) for i in range(len(values))]
    ax.legend(handles[:10], labels[:10], loc="center left", bbox_to_anchor=(0.55, 0.5), fontsize=6.5, frameon=False, labelcolor=TEXT)


def table_rows(panel, r: Renderer, d, range_s) -> tuple[list[str], list[dict]]:
    """Runs the panel's queries and applies merge / organize / sortBy like Grafana."""
    targets = r.exprs(d, panel, range_s, 60)
    rows: list[dict] = []
    many = len(targets) > 1
    for t, expr in targets:
        column = f"Value #{t.get('refId')}" if many else "Value"
        for s in r.instant(expr):
            labels = {k: v for k, v in s["metric"].items() if k != "__name__"}
            row = {**labels, "Time": s["value"][0], column: float(s["value"][1])}
            for existing in rows:  # merge: same values on every shared label
                shared = [k for k in labels if k in existing and not k.startswith("Value")]
                if shared and all(existing[k] == labels[k] for k in shared) and column not in existing:
                    existing.update(row)
                    break
            else:
                rows.append(row)
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    for tr in panel.get("transformations", []):
        if tr.get("id") == "organize":
            opts = tr.get("options", {})
            columns = [c for c in columns if not opts.get("excludeByName", {}).get(c)]
            order = opts.get("indexByName", {})
            position = {c: i for i, c in enumerate(columns)}
            columns.sort(key=lambda c: order.get(c, 100 + position[c]))
            rename = opts.get("renameByName", {})
            rows = [{rename.get(k, k): v for k, v in row.items()} for row in rows]
            columns = [rename.get(c, c) for c in columns]
    for sort in panel.get("options", {}).get("sortBy", []):
        name = sort.get("displayName")
        rows.sort(key=lambda row: (row.get(name) is None, row.get(name) if isinstance(row.get(name), (int, float)) else str(row.get(name, ""))), reverse=bool(sort.get("desc")))
        if sort.get("desc"):  # keep empty cells last
            rows.sort(key=lambda row: row.get(name) is None)
    return columns, rows


def clip(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: max(chars - 1, 1)] + "…"


def draw_table(fig, rect, panel, r: Renderer, d, range_s, height_px, width_px):
    defaults = field_defaults(panel)
    columns, rows = table_rows(panel, r, d, range_s)
    ax = fig.add_axes(rect)
    style(ax, panel["title"].replace("$within", check_dashboards.dashboard_variables(d, "").get("within", "")))
    ax.set_xticks([])
    ax.set_yticks([])
    if not rows:
        no_data(ax)
        return
    props = {}
    for o in panel.get("fieldConfig", {}).get("overrides", []):
        props[o["matcher"]["options"]] = {p["id"]: p.get("value") for p in o.get("properties", [])}
    fit = max(1, int(height_px / 17) - 2)
    shown = rows[:fit]

    def cell(col, value):
        p = props.get(col, {})
        fill, fg = PANEL, TEXT
        for mapping in p.get("mappings", []) or []:
            hit = mapping.get("options", {}).get(str(int(value)) if isinstance(value, float) and value == int(value) else str(value))
            if hit:
                if hit.get("color"):
                    if p.get("custom.cellOptions", {}).get("type") == "color-background":
                        fill, fg = color(hit["color"]), "#ffffff"
                    else:
                        fg = color(hit["color"])
                return hit.get("text", str(value)), fill, fg
        if isinstance(value, float):
            unit = p.get("unit", defaults.get("unit", "short"))
            text = fmt(value, unit, p.get("decimals", defaults.get("decimals")))
            kind = (p.get("custom.cellOptions") or {}).get("type")
            if kind == "color-background" and p.get("thresholds"):
                fill, fg = threshold_color(value, p["thresholds"]), "#111217"
            elif kind == "color-text" and p.get("thresholds"):
                fg = threshold_color(value, p["thresholds"])
            return text, fill, fg
        return str(value if value is not None else ""), fill, fg

    widths = []
    for c in columns:
        longest = max([len(c)] + [len(cell(c, row.get(c))[0]) for row in shown])
        widths.append(min(longest, 42) + 2)
    # Shrink the widest columns until the table fits the panel (about 5.4 px per character).
    available = max(len(columns) * 6, int(width_px / 5.4))
    while sum(widths) > available and max(widths) > 8:
        widths[widths.index(max(widths))] -= 1
    total = sum(widths)
    row_h = 1 / (len(shown) + 1.3)
    x = 0.0
    for c, w in zip(columns, widths):
        ax.text(x + 0.005, 1 - row_h * 0.8, clip(c, w - 1), color="#6e9fff", fontsize=7, fontweight="bold", transform=ax.transAxes, va="center")
        for i, row in enumerate(shown):
            text, fill, fg = cell(c, row.get(c))
            y = 1 - row_h * (i + 1.3)
            if fill != PANEL:
                ax.add_patch(Rectangle((x, y - row_h / 2), w / total, row_h * 0.95, transform=ax.transAxes, color=fill))
            ax.text(x + 0.005, y, clip(text, w - 1), color=fg, fontsize=6.5, transform=ax.transAxes, va="center")
        x += w / total
    if len(rows) > fit:
        ax.text(0.99, 0.01, f"{len(rows) - fit} more rows", color=MUTED, fontsize=6, ha="right", transform=ax.transAxes)


def draw_geomap(fig, rect, panel, r: Renderer, d, range_s):
    (t, expr), = r.exprs(d, panel, range_s, 60)[:1]
    result = r.instant(expr)
    ax = fig.add_axes(rect)
    style(ax, panel["title"] + "  (no basemap offline: country centroids)")
    ax.set_xlim(-180, 180)
    ax.set_ylim(-60, 80)
    ax.set_xticks(range(-180, 181, 60))
    ax.set_yticks(range(-60, 81, 30))
    ax.grid(color=GRID, linewidth=0.5)
    values = {s["metric"].get("country", "?"): float(s["value"][1]) for s in result}
    top = max(values.values(), default=1)
    unplaced = []
    for code, v in sorted(values.items(), key=lambda kv: -kv[1]):
        if code not in CENTROIDS:
            unplaced.append(f"{code} {fmt(v)}")
            continue
        lat, lon = CENTROIDS[code]
        size = 30 + 900 * (v / top)
        ax.scatter([lon], [lat], s=size, color=threshold_color(v, field_defaults(panel).get("thresholds")), alpha=0.6, edgecolors="white", linewidths=0.5)
        ax.text(lon, lat, f"{code}\n{fmt(v)}", color=TEXT, fontsize=6, ha="center", va="center")
    if unplaced:
        ax.text(0.01, 0.02, "not on the map: " + ", ".join(unplaced), color=MUTED, fontsize=6.5, transform=ax.transAxes)


DRAW = {"stat": draw_stat, "timeseries": draw_timeseries, "bargauge": draw_bargauge, "piechart": draw_pie, "geomap": draw_geomap}


def render_dashboard(d: dict, r: Renderer, out: Path) -> None:
    panels = check_dashboards.all_panels(d)
    rows = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in panels)
    header = 60
    width_px, height_px = 24 * UNIT_W, rows * UNIT_H + header
    fig = plt.figure(figsize=(width_px / 100, height_px / 100), dpi=100, facecolor=BG)
    fig.text(0.008, 1 - 22 / height_px, d["title"], color=TEXT, fontsize=13, fontweight="bold", va="center")
    variables = "  ".join(f"{v.get('label', v['name'])}: {v.get('current', {}).get('text', 'Prometheus') if v['name'] != 'tenant' else 'All'}"
                          for v in d.get("templating", {}).get("list", []))
    fig.text(0.008, 1 - 46 / height_px, f"{variables}    time range: last {d['time']['from'].replace('now-', '')}    rendered from Prometheus by scripts/monitoring/render_pngs.py", color=MUTED, fontsize=7.5, va="center")
    range_s = parse_duration(d["time"]["from"])
    pad = 6
    for p in panels:
        g = p["gridPos"]
        x0, y0 = g["x"] * UNIT_W + pad, header + g["y"] * UNIT_H + pad
        w, h = g["w"] * UNIT_W - 2 * pad, g["h"] * UNIT_H - 2 * pad
        fig.patches.append(FancyBboxPatch((x0 / width_px, 1 - (y0 + h) / height_px), w / width_px, h / height_px,
                                          boxstyle="round,pad=0,rounding_size=0.002", transform=fig.transFigure, facecolor=PANEL, edgecolor=GRID, linewidth=0.8, zorder=-1))
        # Room for the title on top, axis labels bottom and left.
        left = {"timeseries": 62 / w}.get(p["type"], 0.01)
        right = min(0.4, 230 / w) if p["type"] == "timeseries" and p.get("options", {}).get("legend", {}).get("displayMode") == "table" else 0.01
        bottom = 0.26 if p["type"] == "timeseries" and p.get("options", {}).get("legend", {}).get("displayMode") != "table" else (0.09 if p["type"] == "timeseries" else 0.02)
        rect = [(x0 + w * left) / width_px, 1 - (y0 + h) / height_px + (h * bottom) / height_px,
                (w * (1 - left - right)) / width_px, (h * (1 - bottom) - 26) / height_px]
        try:
            if p["type"] == "table":
                draw_table(fig, rect, p, r, d, range_s, h - 26, w)
            else:
                DRAW[p["type"]](fig, rect, p, r, d, range_s)
        except Exception as e:  # noqa: BLE001 (one broken panel should not lose the picture)
            print(f"  {d['uid']} / {p['title']}: {e!r}", file=sys.stderr)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, facecolor=BG)
    plt.close(fig)
    print(f"wrote {out}")


def backfill_blocks(demo: stack.Demo, data_dir: Path, workdir: Path) -> None:
    """The demo's history (entra-exporter backfill --demo) as TSDB blocks under the live labels."""
    labels = stack.scrape_labels()
    om = workdir / "history.om"
    argv = [str(stack.DEMO_BINARY), "backfill", "--demo", "--out", str(om), "--label", f"instance={demo.address}"]
    argv += [a for k, v in labels.items() for a in ("--label", f"{k}={v}")]
    subprocess.run(argv, check=True, capture_output=True)
    subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", str(om), str(data_dir)], check=True, capture_output=True)
    print(f"backfilled the demo's history into {data_dir}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prometheus", help="render from this Prometheus instead of starting the demo stack")
    parser.add_argument("--warmup", type=float, default=300, help="seconds the demo stack runs before rendering")
    parser.add_argument("--no-backfill", action="store_true", help="do not load the demo's history")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--only", help="render only this dashboard uid")
    args = parser.parse_args()
    dashboards = [json.loads(p.read_text()) for p in sorted((REPO / "grafana" / "dashboards").glob("*.json"))]
    dashboards = [d for d in dashboards if not args.only or d["uid"] == args.only]

    def render_all(prom: stack.Prometheus) -> None:
        r = Renderer(prom)
        for d in dashboards:
            render_dashboard(d, r, args.out / f"{d['uid']}.png")

    if args.prometheus:
        render_all(stack.Prometheus(args.prometheus.rstrip("/"), Path("/dev/null"), Path("/dev/null")))
        return 0
    with stack.demo_exporter() as demo, tempfile.TemporaryDirectory(prefix="entra-render-") as wd:
        data = Path(wd) / "data"
        data.mkdir()
        if not args.no_backfill:
            backfill_blocks(demo, data, Path(wd))
        with stack.prometheus([demo.address], rule_files=stack.rule_files(), data_dir=data) as prom:
            print(f"demo stack up, Prometheus at {prom.url}; warming up for {args.warmup:.0f} s", flush=True)
            time.sleep(args.warmup)
            render_all(prom)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (stack.StackError, subprocess.CalledProcessError) as e:
        detail = getattr(e, "stderr", b"") or b""
        print(f"render_pngs: {e}\n{detail.decode(errors='replace')[-2000:]}", file=sys.stderr)
        sys.exit(1)
