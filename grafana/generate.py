#!/usr/bin/env python3
"""Renders the entra-exporter Grafana dashboards (grafana/dashboards/*.json) as code.

The dashboards are built with Grafana's Foundation SDK (PyPI `grafana-foundation-sdk`, pinned in
scripts/monitoring/requirements.txt), so every field is one of Grafana's own schema types. The
exporter's job selector comes from monitoring/settings.yaml (key `selector`), the one place that
also holds the alert thresholds.

    grafana/generate.py            write grafana/dashboards/*.json
    grafana/generate.py --check    exit 1 when the committed JSON differs from this generator's output

The set mirrors the Entra admin center's Usage & insights and Application user activity views
panel for panel, and adds what the portal lacks (expiry tables, stale principals, live sign-in
rates from the activity logs, the exporter's own health). docs/dashboards.md describes them.
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from grafana_foundation_sdk.builders import bargauge as bargauge_b
from grafana_foundation_sdk.builders import common as common_b
from grafana_foundation_sdk.builders import dashboard as dash_b
from grafana_foundation_sdk.builders import geomap as geomap_b
from grafana_foundation_sdk.builders import piechart as piechart_b
from grafana_foundation_sdk.builders import prometheus as prom_b
from grafana_foundation_sdk.builders import stat as stat_b
from grafana_foundation_sdk.builders import table as table_b
from grafana_foundation_sdk.builders import timeseries as timeseries_b
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as dash
from grafana_foundation_sdk.models import geomap
from grafana_foundation_sdk.models import piechart
from grafana_foundation_sdk.models import prometheus as prom

REPO = Path(__file__).resolve().parent.parent
OUT_DIR = REPO / "grafana" / "dashboards"
SETTINGS = REPO / "monitoring" / "settings.yaml"

# Used when monitoring/settings.yaml does not exist (yet); the same defaults as the rules.
DEFAULT_SELECTOR = 'job="entra-exporter"'
DEFAULT_STALE_DAYS = 90
DEFAULT_FAILURE_RATIO = 0.2
TAG = "entra-exporter"
GRID_WIDTH = 24


def load_settings() -> dict:
    """The `selector` and thresholds the dashboards share with the rules."""
    settings: dict = {"selector": DEFAULT_SELECTOR, "stale_days": DEFAULT_STALE_DAYS, "failure_ratio": DEFAULT_FAILURE_RATIO, "critical_days": 7, "warning_days": 30}
    if SETTINGS.exists():
        import yaml  # only needed once the settings file exists

        loaded = yaml.safe_load(SETTINGS.read_text()) or {}
        if not isinstance(loaded, dict):
            sys.exit(f"{SETTINGS}: expected a mapping at the top level")
        if loaded.get("selector"):
            settings["selector"] = str(loaded["selector"]).strip()
        # The stale-principal window the alert EntraStaleServicePrincipalWithCredentials uses.
        value = (loaded.get("stale_service_principals") or {}).get("window_days")
        if isinstance(value, (int, float)):
            settings["stale_days"] = int(value)
        creds = loaded.get("credentials") or {}
        for key in ("critical_days", "warning_days"):
            if isinstance(creds.get(key), (int, float)):
                settings[key] = int(creds[key])
        ratio = (loaded.get("sign_in_failures") or {}).get("ratio")
        if isinstance(ratio, (int, float)):
            settings["failure_ratio"] = float(ratio)
    return settings


SETTINGS_VALUES = load_settings()
SELECTOR = SETTINGS_VALUES["selector"]
STALE_DAYS = SETTINGS_VALUES["stale_days"]
# entra_service_principals_without_recent_sign_in has windows 30d and 90d only.
SP_WINDOW = "30d" if STALE_DAYS <= 30 else "90d"

DS = dash.DataSourceRef(type_val="prometheus", uid="${datasource}")


def _matchers(extra: tuple[str, ...], eq: dict[str, str]) -> list[str]:
    return list(extra) + [f'{name}="{value}"' for name, value in eq.items()]


def m(metric: str, *extra: str, **eq: str) -> str:
    """A raw exporter series, filtered by the job selector and the tenant variable.

    `extra` are raw matchers (`period="daily"`, or `rx(...)`); keywords are equality matchers.
    """
    matchers = [SELECTOR, 'tenant=~"$tenant"'] + _matchers(extra, eq)
    return f"{metric}{{{','.join(matchers)}}}"


def r(metric: str, *extra: str, **eq: str) -> str:
    """A recorded series (prometheus/rules): aggregated without `job`, so only the tenant filter."""
    matchers = ['tenant=~"$tenant"'] + _matchers(extra, eq)
    return f"{metric}{{{','.join(matchers)}}}"


def rx(name: str, pattern: str) -> str:
    """A regex matcher."""
    return f'{name}=~"{pattern}"'


# Sign-in error codes seen most often (Entra AADSTS codes), shown as text in tables.
ERROR_CODES = {
    "0": "success",
    "50034": "user not found",
    "50053": "account locked or sign-in blocked",
    "50055": "password expired",
    "50057": "user account disabled",
    "50074": "strong authentication required",
    "50076": "MFA required by policy",
    "50125": "sign-in interrupted (password reset or registration)",
    "50126": "invalid username or password",
    "50140": "keep-me-signed-in interrupt",
    "53003": "blocked by conditional access",
    "65001": "consent required",
    "70011": "invalid scope",
    "700016": "application not found in tenant",
    "7000112": "application disabled",
    "7000215": "invalid client secret",
    "7000222": "client secret expired",
    "530032": "blocked by security policy",
}


# ---------------------------------------------------------------------------------------------
# Small wrappers around the SDK builders, so each panel below reads as title, description, query.


def target(expr: str, legend: str = "__auto", ref: str = "A", instant: bool = False, table: bool = False):
    t = prom_b.Dataquery().expr(expr).ref_id(ref).datasource(DS).legend_format(legend)
    t = t.instant() if instant else t.range()
    if table:
        t = t.format(prom.PromQueryFormat.TABLE)
    return t


def thresholds(*steps: tuple[Optional[float], str]):
    return (
        dash_b.ThresholdsConfig()
        .mode(dash.ThresholdsMode.ABSOLUTE)
        .steps([dash.Threshold(value=v, color=c) for v, c in steps])
    )


NEUTRAL = thresholds((None, "blue"))
GOOD_HIGH = thresholds((None, "red"), (0.8, "orange"), (0.95, "green"))
ZERO_GOOD = thresholds((None, "green"), (1, "red"))
ZERO_GOOD_WARN = thresholds((None, "green"), (1, "orange"))


def dyn(id_: str, value) -> dash.DynamicConfigValue:
    return dash.DynamicConfigValue(id_val=id_, value=value)


def color_cells() -> dash.DynamicConfigValue:
    return dyn("custom.cellOptions", {"type": "color-background", "mode": "basic"})


def threshold_value(steps: list[tuple[Optional[float], str]]) -> dict:
    return {"mode": "absolute", "steps": [{"value": v, "color": c} for v, c in steps]}


# Days left: red below the critical alert's days (7), orange below the warning's (30), yellow below 90.
CRIT, WARN = SETTINGS_VALUES["critical_days"], SETTINGS_VALUES["warning_days"]
DAYS_LEFT_STEPS = [(None, "red"), (CRIT, "orange"), (WARN, "yellow"), (90, "green")]


def error_code_mapping() -> dash.DynamicConfigValue:
    return dyn(
        "mappings",
        [{"type": "value", "options": {k: {"text": f"{k} · {v}", "index": i} for i, (k, v) in enumerate(ERROR_CODES.items())}}],
    )


def organize(exclude: list[str] = (), rename: dict[str, str] | None = None, order: list[str] = ()) -> dash.DataTransformerConfig:
    # Instant table queries carry Time plus job/instance; hide what a reader does not need.
    hidden = {"Time": True, "job": True, "instance": True, "__name__": True}
    hidden.update({name: True for name in exclude})
    return dash.DataTransformerConfig(
        id_val="organize",
        options={
            "excludeByName": hidden,
            "renameByName": rename or {},
            "indexByName": {name: i for i, name in enumerate(order)},
        },
    )


MERGE = dash.DataTransformerConfig(id_val="merge", options={})


def stat(title, desc, expr, unit="short", th=NEUTRAL, legend="{{tenant}}", decimals=None, color_mode=common.BigValueColorMode.VALUE, text_mode=common.BigValueTextMode.AUTO):
    p = (
        stat_b.Panel()
        .title(title)
        .description(desc)
        .datasource(DS)
        .with_target(target(expr, legend=legend, instant=True))
        .unit(unit)
        .thresholds(th)
        .color_scheme(dash_b.FieldColor().mode(dash.FieldColorModeId.THRESHOLDS))
        .color_mode(color_mode)
        .text_mode(text_mode)
        .graph_mode(common.BigValueGraphMode.NONE)
        .reduce_options(common_b.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
    )
    if decimals is not None:
        p = p.decimals(decimals)
    return p


def timeseries(title, desc, targets, unit="short", stack=False, bars=False, steps=False, time_from=None, th=None, min_=0.0, legend_table=False):
    p = (
        timeseries_b.Panel()
        .title(title)
        .description(desc)
        .datasource(DS)
        .unit(unit)
        .fill_opacity(70 if bars else 15)
        .line_width(1)
        .show_points(common.VisibilityMode.NEVER)
        .legend(
            common_b.VizLegendOptions()
            .show_legend(True)
            .display_mode(common.LegendDisplayMode.TABLE if legend_table else common.LegendDisplayMode.LIST)
            .placement(common.LegendPlacement.RIGHT if legend_table else common.LegendPlacement.BOTTOM)
            .calcs(["lastNotNull", "max"] if legend_table else [])
        )
        .tooltip(common_b.VizTooltipOptions().mode(common.TooltipDisplayMode.MULTI).sort(common.SortOrder.DESCENDING))
    )
    for t in targets:
        p = p.with_target(t)
    if min_ is not None:
        p = p.min(min_)
    if bars:
        p = p.draw_style(common.GraphDrawStyle.BARS)
    if steps:
        p = p.line_interpolation(common.LineInterpolation.STEP_AFTER)
    if stack:
        p = p.stacking(common_b.StackingConfig().mode(common.StackingMode.NORMAL))
    if time_from:
        p = p.time_from(time_from)
    if th is not None:
        p = p.thresholds(th).thresholds_style(common_b.GraphThresholdsStyleConfig().mode(common.GraphThresholdsStyleMode.LINE))
    return p


def bars(title, desc, expr, unit="short", th=NEUTRAL, legend="__auto", max_=None, gradient=True):
    p = (
        bargauge_b.Panel()
        .title(title)
        .description(desc)
        .datasource(DS)
        .with_target(target(expr, legend=legend, instant=True))
        .unit(unit)
        .min(0)
        .thresholds(th)
        .color_scheme(dash_b.FieldColor().mode(dash.FieldColorModeId.THRESHOLDS))
        .orientation(common.VizOrientation.HORIZONTAL)
        .display_mode(common.BarGaugeDisplayMode.GRADIENT if gradient else common.BarGaugeDisplayMode.BASIC)
        .show_unfilled(True)
        .reduce_options(common_b.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
    )
    if max_ is not None:
        p = p.max(max_)
    return p


def pie(title, desc, expr, unit="short", legend="__auto"):
    return (
        piechart_b.Panel()
        .title(title)
        .description(desc)
        .datasource(DS)
        .with_target(target(expr, legend=legend, instant=True))
        .unit(unit)
        .pie_type(piechart.PieChartType.DONUT)
        .color_scheme(dash_b.FieldColor().mode(dash.FieldColorModeId.PALETTE_CLASSIC))
        .reduce_options(common_b.ReduceDataOptions().calcs(["lastNotNull"]).values(False))
        .legend(
            piechart_b.PieChartLegendOptions()
            .show_legend(True)
            .display_mode(common.LegendDisplayMode.TABLE)
            .placement(common.LegendPlacement.RIGHT)
            .values([piechart.PieChartLegendValues.VALUE, piechart.PieChartLegendValues.PERCENT])
        )
    )


def table(title, desc, targets, transformations=(), overrides=(), sort=None, unit="short"):
    p = (
        table_b.Panel()
        .title(title)
        .description(desc)
        .datasource(DS)
        .unit(unit)
        .filterable(True)
        .cell_height(common.TableCellHeight.SM)
    )
    for t in targets:
        p = p.with_target(t)
    for tr in transformations:
        p = p.with_transformation(tr)
    for name, props in overrides:
        p = p.override_by_name(name, props)
    if sort:
        name, desc_ = sort
        p = p.sort_by([common_b.TableSortByFieldState().display_name(name).desc(desc_)])
    return p


def country_map(title, desc, expr):
    return (
        geomap_b.Panel()
        .title(title)
        .description(desc)
        .datasource(DS)
        .with_target(target(expr, legend="{{country}}", instant=True, table=True))
        .unit("short")
        .thresholds(thresholds((None, "green"), (100, "yellow"), (1000, "red")))
        .color_scheme(dash_b.FieldColor().mode(dash.FieldColorModeId.CONTINUOUS_GR_YL_RD))
        .view(geomap_b.MapViewConfig().id("zero").lat(20).lon(0).zoom(1))
        .controls(geomap_b.ControlsOptions().show_zoom(True).mouse_wheel_zoom(False).show_attribution(True))
        .basemap(common_b.MapLayerOptions().type("default").name("Basemap"))
        .layers(
            [
                common_b.MapLayerOptions()
                .type("markers")
                .name("Authentications")
                .tooltip(True)
                # `country` holds ISO 3166-1 alpha-2 codes, the keys of Grafana's built-in gazetteer.
                .location(
                    common_b.FrameGeometrySource()
                    .mode(common.FrameGeometrySourceMode.LOOKUP)
                    .lookup("country")
                    .gazetteer("public/gazetteer/countries.json")
                )
                .config(
                    {
                        "showLegend": True,
                        "style": {
                            "color": {"field": "Value", "fixed": "dark-green"},
                            "opacity": 0.6,
                            "size": {"field": "Value", "fixed": 5, "min": 4, "max": 30},
                            "symbol": {"fixed": "img/icons/marker/circle.svg", "mode": "fixed"},
                        },
                    }
                )
            ]
        )
        .tooltip(geomap_b.TooltipOptions().mode(geomap.TooltipMode.DETAILS))
    )


# ---------------------------------------------------------------------------------------------
# Layout: panels are packed left to right in rows; a row's height is that of its tallest panel.


@dataclass
class Board:
    uid: str
    title: str
    description: str
    time_from: str
    tags: list[str]
    rows: list[list[tuple[object, int, int]]] = field(default_factory=list)
    extra_variables: list = field(default_factory=list)

    def row(self, *cells: tuple[object, int, int]) -> "Board":
        width = sum(w for _, w, _ in cells)
        if width > GRID_WIDTH:
            raise ValueError(f"{self.uid}: a row is {width} wide, more than {GRID_WIDTH}")
        self.rows.append(list(cells))
        return self

    def build(self) -> dash.Dashboard:
        d = (
            dash_b.Dashboard(self.title)
            .uid(self.uid)
            .description(self.description)
            .tags([TAG] + self.tags)
            .time(self.time_from, "now")
            .timezone("browser")
            .refresh("5m")
            .editable()
            .tooltip(dash.DashboardCursorSync.CROSSHAIR)
            .timepicker(dash_b.TimePicker().refresh_intervals(["1m", "5m", "15m", "1h"]))
            .with_variable(
                dash_b.DatasourceVariable("datasource").label("Data source").type("prometheus")
                .description("The Prometheus that scrapes entra-exporter.")
            )
            .with_variable(
                dash_b.QueryVariable("tenant")
                .label("Tenant")
                .description("Tenants (the `tenant` label: the name given in the exporter's config).")
                .datasource(DS)
                .query(f"label_values(entra_collector_up{{{SELECTOR}}}, tenant)")
                .refresh(dash.VariableRefresh.ON_TIME_RANGE_CHANGED)
                .sort(dash.VariableSort.ALPHABETICAL_ASC)
                .multi(True)
                .include_all(True)
                .all_value(".*")
                .current(dash.VariableOption(text="All", value="$__all", selected=True))
            )
            .link(
                dash_b.DashboardLink("Entra dashboards")
                .type(dash.DashboardLinkType.DASHBOARDS)
                .tags([TAG])
                .as_dropdown(False)
                .include_vars(True)
                .keep_time(False)
                .target_blank(False)
                .icon("external link")
                .tooltip("")
                .url("")
            )
        )
        for v in self.extra_variables:
            d = d.with_variable(v)
        y = 0
        panel_id = 1
        for cells in self.rows:
            x = 0
            height = 0
            for panel, w, h in cells:
                panel = panel.id(panel_id).grid_pos(dash.GridPos(h=h, w=w, x=x, y=y))
                d = d.with_panel(panel)
                panel_id += 1
                x += w
                height = max(height, h)
            y += height
        return d.build()


def custom_var(name: str, label: str, desc: str, values: list[str], default: str):
    return (
        dash_b.CustomVariable(name)
        .label(label)
        .description(desc)
        .values(",".join(values))
        .current(dash.VariableOption(text=default, value=default, selected=True))
        .options([dash.VariableOption(text=v, value=v, selected=v == default) for v in values])
    )


# ---------------------------------------------------------------------------------------------
# The dashboards. User-insight and report gauges hold the latest complete day/month/period;
# `last_over_time(...[1d])` / `[32d]` draws them as steps across days and months, which also
# joins the history that `entra-exporter backfill` writes at midnight timestamps.


def ext_users() -> Board:
    b = Board(
        "entra-ext-users",
        "Entra External ID / Users",
        "Daily and monthly active users, inactive users and new users of an External ID tenant: the admin center's Application user activity > Users dashboard.",
        "now-30d",
        ["external-id"],
    )
    daily = 'period="daily"'
    monthly = 'period="monthly"'
    b.row(
        (stat("Users in tenant", "Users in the tenant on the latest complete day (Graph userInsights/daily/userCount).", f"sum by (tenant) ({m('entra_external_id_users')})"), 4, 4),
        (stat("Active users, last day", "Users with at least one authentication on the latest complete day, summed over apps and platforms as Graph counts them.", f"sum by (tenant) ({m('entra_external_id_active_users', daily)})"), 4, 4),
        (stat("Active users, last month", "Monthly active users of the latest complete month.", f"sum by (tenant) ({m('entra_external_id_active_users', monthly)})"), 4, 4),
        (stat("New users, last month", "Users who signed up in the latest complete month (Graph userInsights/monthly/signUps).", f"sum by (tenant) ({m('entra_external_id_sign_ups', monthly)})"), 4, 4),
        (stat("Inactive 30 days", "Users without a sign-in for 30 days, as of the latest complete day.", f"sum by (tenant) ({m('entra_external_id_inactive_users', daily, window='30d')})", th=NEUTRAL), 4, 4),
        (stat("Data as of", "Midnight UTC of the day the daily figures describe: Graph publishes user insights with a lag, the exporter serves the newest complete day.", f"max by (tenant) ({m('entra_external_id_fact_timestamp_seconds', daily, report='active_users')}) * 1000", unit="dateTimeFromNow"), 4, 4),
    )
    b.row(
        (timeseries(
            "Daily active and inactive users",
            "Admin center: daily active and inactive users over 30 days. Each point is the value of the latest complete day at that time; inactive users are those without a sign-in that day (window 1d) and for 30 days.",
            [
                target(f"sum by (tenant) (last_over_time({m('entra_external_id_active_users', daily)}[1d]))", legend="active · {{tenant}}"),
                target(f"sum by (tenant, window) (last_over_time({m('entra_external_id_inactive_users', daily, rx('window', '1d|30d'))}[1d]))", legend="inactive {{window}} · {{tenant}}", ref="B"),
            ],
            steps=True,
        ), 16, 8),
        (bars("Inactive users by window", "Users without a sign-in for 30, 60 and 90 days (latest complete day). Not shown as such in the portal.", f"sum by (window) ({m('entra_external_id_inactive_users', daily, rx('window', '30d|60d|90d'))})", legend="{{window}}"), 8, 8),
    )
    b.row(
        (timeseries(
            "Monthly active users",
            "Admin center: monthly active users over 12 months. One step per complete month (history from `entra-exporter backfill`, then live).",
            [target(f"sum by (tenant) (last_over_time({m('entra_external_id_active_users', monthly)}[32d]))", legend="{{tenant}}")],
            bars=True, time_from="1y",
        ), 12, 8),
        (bars("Monthly active users per application", "Admin center: monthly active users compared by application (latest complete month). Apps beyond breakdowns.applications are summed into app_id=\"other\".", f"sort_desc(sum by (app_id) ({m('entra_external_id_active_users_by_application', monthly)}))", legend="{{app_id}}"), 12, 8),
    )
    b.row(
        (timeseries(
            "New users per month",
            "Admin center: new users added over 12 months (sign-ups of each complete month).",
            [target(f"sum by (tenant) (last_over_time({m('entra_external_id_sign_ups', monthly)}[32d]))", legend="{{tenant}}")],
            bars=True, time_from="1y",
        ), 12, 8),
        (pie("New users by operating system", "Admin center: new users broken down by operating system (latest complete month).", f"sum by (os) ({m('entra_external_id_sign_ups_by_os', monthly)})", legend="{{os}}"), 6, 8),
        (bars("Inactive 90 days per application", "Users of each application without a sign-in for 90 days (latest complete day); the portal has no per-app inactivity view.", f"topk(10, sum by (app_id) ({m('entra_external_id_inactive_users_by_application', daily, window='90d')}))", legend="{{app_id}}"), 6, 8),
    )
    return b


def ext_requests() -> Board:
    b = Board(
        "entra-ext-requests",
        "Entra External ID / Requests",
        "Monthly authentication requests and MFA by method, success versus failure: the admin center's Application user activity > Requests dashboard.",
        "now-1y",
        ["external-id"],
    )
    monthly = 'period="monthly"'
    daily = 'period="daily"'
    b.row(
        (stat("Requests, last month", "Authentication requests in the latest complete month (Graph userInsights/monthly/requests).", f"sum by (tenant) ({m('entra_external_id_requests', monthly)})"), 6, 4),
        (stat("MFA attempts, last month", "MFA attempts over every method in the latest complete month.", f"sum by (tenant) ({m('entra_external_id_mfa_attempts', monthly)})"), 6, 4),
        (stat("MFA success rate, last month", "Successful over attempted MFA in the latest complete month; red below 80 %, orange below 95 %.", f"sum by (tenant) ({m('entra_external_id_mfa_successes', monthly)}) / sum by (tenant) ({m('entra_external_id_mfa_attempts', monthly)})", unit="percentunit", th=GOOD_HIGH, decimals=1), 6, 4),
        (stat("Month described", "First day of the month the monthly figures describe.", f"max by (tenant) ({m('entra_external_id_fact_timestamp_seconds', monthly, report='requests')}) * 1000", unit="dateTimeFromNow"), 6, 4),
    )
    b.row(
        (timeseries(
            "Monthly requests",
            "Admin center: monthly requests over 12 months. One bar per complete month.",
            [target(f"sum by (tenant) (last_over_time({m('entra_external_id_requests', monthly)}[32d]))", legend="{{tenant}}")],
            bars=True,
        ), 24, 8),
    )
    b.row(
        (timeseries(
            "MFA by method: successes and failures per month",
            "Admin center: types of MFA with success versus failure over 12 months, per method.",
            [
                target(f"sum by (method) (last_over_time({m('entra_external_id_mfa_successes', monthly)}[32d]))", legend="{{method}} success"),
                target(f"sum by (method) (last_over_time({m('entra_external_id_mfa_failures', monthly)}[32d]))", legend="{{method}} failure", ref="B"),
            ],
            steps=True,
        ), 16, 9),
        (bars("MFA failure ratio by method, last month", "Failed over attempted MFA per method in the latest complete month; orange from 5 %, red from 20 %.", f"sum by (method) ({m('entra_external_id_mfa_failures', monthly)}) / sum by (method) ({m('entra_external_id_mfa_attempts', monthly)})", unit="percentunit", th=thresholds((None, "green"), (0.05, "orange"), (0.2, "red")), legend="{{method}}", max_=1), 8, 9),
    )
    b.row(
        (timeseries(
            "Daily MFA failures by method",
            "MFA failures per method on each complete day: the daily view the portal does not offer, to spot an SMS or email delivery problem within a day.",
            [target(f"sum by (method) (last_over_time({m('entra_external_id_mfa_failures', daily)}[1d]))", legend="{{method}}")],
            steps=True, time_from="30d",
        ), 12, 8),
        (timeseries(
            "SMS and voice MFA, requests and completions",
            "Telephony MFA from the monthly summary: requests versus completions for SMS and voice. The gap is undelivered or abandoned codes, which cost money.",
            [
                target(f"sum by (tenant) (last_over_time({m('entra_external_id_overview_sms_mfa_requests', monthly)}[32d]))", legend="SMS requests · {{tenant}}"),
                target(f"sum by (tenant) (last_over_time({m('entra_external_id_overview_sms_mfa_completions', monthly)}[32d]))", legend="SMS completions · {{tenant}}", ref="B"),
                target(f"sum by (tenant) (last_over_time({m('entra_external_id_overview_voice_mfa_requests', monthly)}[32d]))", legend="voice requests · {{tenant}}", ref="C"),
                target(f"sum by (tenant) (last_over_time({m('entra_external_id_overview_voice_mfa_completions', monthly)}[32d]))", legend="voice completions · {{tenant}}", ref="D"),
            ],
            steps=True,
        ), 12, 8),
    )
    return b


def ext_auth() -> Board:
    b = Board(
        "entra-ext-auth",
        "Entra External ID / Authentications",
        "Daily authentications, authentications by operating system and by country: the admin center's Application user activity > Authentications dashboard.",
        "now-30d",
        ["external-id"],
    )
    daily = 'period="daily"'
    monthly = 'period="monthly"'
    b.row(
        (stat("Authentications, last day", "Authentication attempts on the latest complete day.", f"sum by (tenant) ({m('entra_external_id_authentication_attempts', daily)})"), 6, 4),
        (stat("Success rate, last day", "Successful over attempted authentications on the latest complete day; red below 80 %, orange below 95 %.", f"sum by (tenant) ({m('entra_external_id_authentication_successes', daily)}) / sum by (tenant) ({m('entra_external_id_authentication_attempts', daily)})", unit="percentunit", th=GOOD_HIGH, decimals=1), 6, 4),
        (stat("Authentications, last month", "Authentication attempts in the latest complete month.", f"sum by (tenant) ({m('entra_external_id_authentication_attempts', monthly)})"), 6, 4),
        (stat("Countries, last month", "Countries with authentications in the latest complete month (the top breakdowns.countries, plus other/unknown).", f"count by (tenant) ({m('entra_external_id_authentication_attempts_by_country', monthly)} > 0)"), 6, 4),
    )
    b.row(
        (timeseries(
            "Daily authentications",
            "Admin center: daily authentications over 30 days, attempts and successes of each complete day.",
            [
                target(f"sum by (tenant) (last_over_time({m('entra_external_id_authentication_attempts', daily)}[1d]))", legend="attempts · {{tenant}}"),
                target(f"sum by (tenant) (last_over_time({m('entra_external_id_authentication_successes', daily)}[1d]))", legend="successes · {{tenant}}", ref="B"),
            ],
            steps=True,
        ), 16, 8),
        (pie("Authentications by operating system, last day", "Admin center: daily authentications broken down by operating system (latest complete day).", f"sum by (os) ({m('entra_external_id_authentication_attempts_by_os', daily)})", legend="{{os}}"), 8, 8),
    )
    b.row(
        (timeseries(
            "Daily authentications by operating system",
            "Authentication attempts per operating system on each complete day over 30 days, stacked.",
            [target(f"sum by (os) (last_over_time({m('entra_external_id_authentication_attempts_by_os', daily)}[1d]))", legend="{{os}}")],
            stack=True, steps=True,
        ), 24, 8),
    )
    b.row(
        (table(
            "Authentications by country, last month",
            "Admin center: monthly authentications summarized by location. Attempts, successes and success rate per country (ISO 3166 code) in the latest complete month.",
            [
                target(f"sum by (country) ({m('entra_external_id_authentication_attempts_by_country', monthly)})", instant=True, table=True, ref="A"),
                target(f"sum by (country) ({m('entra_external_id_authentication_successes_by_country', monthly)})", instant=True, table=True, ref="B"),
                target(f"sum by (country) ({m('entra_external_id_authentication_successes_by_country', monthly)}) / sum by (country) ({m('entra_external_id_authentication_attempts_by_country', monthly)})", instant=True, table=True, ref="C"),
            ],
            transformations=[MERGE, organize(rename={"country": "Country", "Value #A": "Attempts", "Value #B": "Successes", "Value #C": "Success rate"}, order=["country", "Value #A", "Value #B", "Value #C"])],
            overrides=[("Success rate", [dyn("unit", "percentunit"), dyn("decimals", 1), dyn("thresholds", threshold_value([(None, "red"), (0.8, "orange"), (0.95, "green")])), color_cells()])],
            sort=("Attempts", True),
        ), 9, 12),
        (country_map(
            "Authentications by country, map",
            "Admin center: monthly authentications by location, on a map. Marker size and colour follow the attempts of the latest complete month; `other` and `unknown` have no location.",
            f"sum by (country) ({m('entra_external_id_authentication_attempts_by_country', monthly)})",
        ), 15, 12),
    )
    return b


def app_activity() -> Board:
    b = Board(
        "entra-app-activity",
        "Entra / Application activity",
        "Top applications, failed sign-ins and success rate per app, top errors and last sign-in: the admin center's Usage & insights > Microsoft Entra application activity report, plus live sign-in rates from the sign-in logs.",
        "now-24h",
        ["usage-insights"],
        extra_variables=[custom_var("period", "Summary period", "Period of Graph's application sign-in summary (getAzureADApplicationSignInSummary D7 or D30).", ["7d", "30d"], "7d")],
    )
    p = 'period="$period"'
    b.row(
        (stat("Applications with sign-ins", "Applications with one or more sign-in attempts in the summary period.", f"count by (tenant) ({m('entra_application_successful_sign_ins', p)})"), 6, 4),
        (stat("Sign-ins", "Successful and failed sign-ins over every application in the summary period.", f"sum by (tenant) ({m('entra_application_successful_sign_ins', p)}) + sum by (tenant) ({m('entra_application_failed_sign_ins', p)})"), 6, 4),
        (stat("Failed sign-ins", "Failed sign-ins over every application in the summary period.", f"sum by (tenant) ({m('entra_application_failed_sign_ins', p)})", th=ZERO_GOOD_WARN), 6, 4),
        (stat("Success rate", "Successful over all sign-ins in the summary period; red below 80 %, orange below 95 %.", f"sum by (tenant) ({m('entra_application_successful_sign_ins', p)}) / (sum by (tenant) ({m('entra_application_successful_sign_ins', p)}) + sum by (tenant) ({m('entra_application_failed_sign_ins', p)}))", unit="percentunit", th=GOOD_HIGH, decimals=1), 6, 4),
    )
    b.row(
        (bars("Top applications", "Admin center: top used applications, by all sign-ins in the summary period.", f"topk(10, sum by (app) ({m('entra_application_successful_sign_ins', p)} + {m('entra_application_failed_sign_ins', p)}))", legend="{{app}}"), 8, 10),
        (table(
            "Failed sign-ins and success rate per application",
            "Admin center: applications with the most failed sign-ins, with successes, failures and success rate (0 to 1, computed from the counts) in the summary period. Sorted by failures.",
            [
                target(f"sum by (app) ({m('entra_application_successful_sign_ins', p)})", instant=True, table=True, ref="A"),
                target(f"sum by (app) ({m('entra_application_failed_sign_ins', p)})", instant=True, table=True, ref="B"),
                target(f"min by (app) ({m('entra_application_sign_in_success_ratio', p)})", instant=True, table=True, ref="C"),
            ],
            transformations=[MERGE, organize(rename={"app": "Application", "Value #A": "Successful", "Value #B": "Failed", "Value #C": "Success rate"}, order=["app", "Value #A", "Value #B", "Value #C"])],
            overrides=[
                ("Success rate", [dyn("unit", "percentunit"), dyn("decimals", 1), dyn("thresholds", threshold_value([(None, "red"), (0.8, "orange"), (0.95, "green")])), color_cells()]),
                ("Failed", [dyn("custom.cellOptions", {"type": "gauge", "mode": "basic"}), dyn("color", {"mode": "fixed", "fixedColor": "red"})]),
            ],
            sort=("Failed", True),
        ), 16, 10),
    )
    b.row(
        (table(
            "Top errors per application",
            "Admin center: top sign-in errors for each application. Failed sign-ins by application and error code counted from the sign-in logs over the dashboard's time range (the logs are read since the exporter started).",
            [target(f"topk(20, sum by (app, error_code) (increase({m('entra_sign_ins_total', result='failure')}[$__range])))", instant=True, table=True)],
            transformations=[organize(rename={"app": "Application", "error_code": "Error code", "Value": "Failures"}, order=["app", "error_code", "Value"])],
            overrides=[("Error code", [error_code_mapping()]), ("Failures", [dyn("decimals", 0)])],
            sort=("Failures", True),
        ), 12, 10),
        (table(
            "Last sign-in per application",
            "Admin center: date of the last sign-in for an application. Newest sign-in of any kind seen in the sign-in logs since the exporter started; oldest first.",
            [target(f"max by (app) ({m('entra_application_last_sign_in_timestamp_seconds')}) * 1000", instant=True, table=True)],
            transformations=[organize(rename={"app": "Application", "Value": "Last sign-in"})],
            overrides=[("Last sign-in", [dyn("unit", "dateTimeFromNow")])],
            sort=("Last sign-in", False),
        ), 12, 10),
    )
    b.row(
        (timeseries(
            "Sign-ins per application (live, from the logs)",
            "Sign-ins per second of the ten busiest applications, from the sign-in logs (recording rule entra:sign_ins:rate5m). The portal's report is daily; this is minutes behind.",
            [target(f"topk(10, sum by (app) ({r('entra:sign_ins:rate5m')}))", legend="{{app}}")],
            unit="ops", legend_table=True,
        ), 12, 8),
        (timeseries(
            "Sign-in failure ratio per application (1h)",
            "Failed over all sign-ins per application over the last hour, the ten worst (recording rule entra:app_sign_in_failure_ratio:rate1h; interrupts such as MFA prompts count as neither). The alert EntraAppSignInFailureRatioHigh fires on this when it is also rising.",
            [target(f"topk(10, {r('entra:app_sign_in_failure_ratio:rate1h')})", legend="{{app}}")],
            unit="percentunit", th=thresholds((None, "green"), (SETTINGS_VALUES["failure_ratio"], "red")), legend_table=True,
        ), 12, 8),
    )
    return b


def adfs() -> Board:
    b = Board(
        "entra-adfs",
        "Entra / AD FS application activity",
        "AD FS relying parties with sign-ins, unique users and migration readiness: the admin center's Usage & insights > AD FS application activity report.",
        "now-7d",
        ["usage-insights"],
        extra_variables=[custom_var("period", "Summary period", "Period of Graph's getRelyingPartyDetailedSummary (D1, D7 or D30).", ["1d", "7d", "30d"], "30d")],
    )
    p = 'period="$period"'
    b.row(
        (stat("Relying parties with sign-ins", "AD FS relying parties with at least one sign-in in the period.", f"count by (tenant) ({m('entra_adfs_relying_party_sign_ins', p)} > 0)"), 6, 4),
        (stat("AD FS sign-ins", "All AD FS sign-ins in the period.", f"sum by (tenant) ({m('entra_adfs_relying_party_sign_ins', p)})"), 6, 4),
        (stat("Unique users (upper bound)", "Distinct users summed over relying parties (a user of two parties counts twice).", f"sum by (tenant) ({m('entra_adfs_relying_party_unique_users', p)})"), 6, 4),
        (stat("Ready to migrate", "Relying parties whose migration status is ready: they can move to Entra ID authentication now.", f"sum by (tenant) ({m('entra_adfs_relying_party_migration_status', status='ready')})", th=thresholds((None, "blue"))), 6, 4),
    )
    b.row(
        (table(
            "Relying parties",
            "Admin center: the AD FS application activity list. Sign-ins, failures, success rate, unique users and migration status per relying party in the period; busiest first.",
            [
                target(f"sum by (relying_party) ({m('entra_adfs_relying_party_sign_ins', p)})", instant=True, table=True, ref="A"),
                target(f"sum by (relying_party) ({m('entra_adfs_relying_party_failed_sign_ins', p)})", instant=True, table=True, ref="B"),
                target(f"min by (relying_party) ({m('entra_adfs_relying_party_sign_in_success_ratio', p)})", instant=True, table=True, ref="C"),
                target(f"sum by (relying_party) ({m('entra_adfs_relying_party_unique_users', p)})", instant=True, table=True, ref="D"),
                target(f"max by (relying_party, status) ({m('entra_adfs_relying_party_migration_status')}) == 1", instant=True, table=True, ref="E"),
            ],
            transformations=[
                MERGE,
                organize(
                    exclude=["Value #E"],
                    rename={"relying_party": "Relying party", "status": "Migration status", "Value #A": "Sign-ins", "Value #B": "Failed", "Value #C": "Success rate", "Value #D": "Unique users"},
                    order=["relying_party", "Value #A", "Value #B", "Value #C", "Value #D", "status"],
                ),
            ],
            overrides=[
                ("Success rate", [dyn("unit", "percentunit"), dyn("decimals", 1), dyn("thresholds", threshold_value([(None, "red"), (0.8, "orange"), (0.95, "green")])), color_cells()]),
                ("Migration status", [dyn("mappings", [{"type": "value", "options": {
                    "ready": {"text": "ready", "color": "green", "index": 0},
                    "needs_review": {"text": "needs review", "color": "orange", "index": 1},
                    "additional_steps_required": {"text": "additional steps required", "color": "red", "index": 2},
                    "unknown": {"text": "unknown", "color": "text", "index": 3},
                }}]), dyn("custom.cellOptions", {"type": "color-text"})]),
            ],
            sort=("Sign-ins", True),
        ), 16, 12),
        (pie("Migration status", "Relying parties per migration readiness status.", f"sum by (status) ({m('entra_adfs_relying_party_migration_status')})", legend="{{status}}"), 8, 12),
    )
    b.row(
        (bars("Most failed AD FS sign-ins", "Relying parties with the most failed sign-ins in the period.", f"topk(10, sum by (relying_party) ({m('entra_adfs_relying_party_failed_sign_ins', p)}))", th=ZERO_GOOD_WARN, legend="{{relying_party}}"), 12, 8),
        (timeseries(
            "AD FS sign-ins over time",
            "Successful and failed AD FS sign-ins of the last day (D1 summary) as polled; shows whether AD FS traffic is falling as parties migrate.",
            [
                target(f"sum by (tenant) ({m('entra_adfs_relying_party_successful_sign_ins', period='1d')})", legend="successful · {{tenant}}"),
                target(f"sum by (tenant) ({m('entra_adfs_relying_party_failed_sign_ins', period='1d')})", legend="failed · {{tenant}}", ref="B"),
            ],
            steps=True,
        ), 12, 8),
    )
    return b


def auth_methods() -> Board:
    b = Board(
        "entra-auth-methods",
        "Entra / Authentication methods",
        "Registration per method, MFA/SSPR/passwordless capability, usage per method and MFA versus single-factor sign-ins: the admin center's Authentication methods activity (Registration and Usage tabs).",
        "now-7d",
        ["usage-insights"],
        extra_variables=[custom_var("period", "Usage period", "Period of Graph's getCredentialUsageSummary (D1, D7 or D30).", ["1d", "7d", "30d"], "30d")],
    )
    users = f"sum by (tenant) ({m('entra_auth_methods_users')})"

    def share(feature: str) -> str:
        return f"sum by (tenant) ({m('entra_auth_methods_feature_users', feature=feature)}) / {users}"

    b.row(
        (stat("Users", "Users in the registration report (userRegistrationDetails).", users), 4, 4),
        (stat("MFA capable", "Share of users who can complete MFA now (registered a strong method and allowed by policy).", share("mfa_capable"), unit="percentunit", th=GOOD_HIGH, decimals=1), 4, 4),
        (stat("SSPR capable", "Share of users who can reset their own password.", share("sspr_capable"), unit="percentunit", th=thresholds((None, "orange"), (0.8, "green")), decimals=1), 4, 4),
        (stat("Passwordless capable", "Share of users who can sign in without a password.", share("passwordless_capable"), unit="percentunit", th=thresholds((None, "blue")), decimals=1), 4, 4),
        (stat("Admins", "Users holding an admin role.", f"sum by (tenant) ({m('entra_auth_methods_admins')})"), 4, 4),
        (stat("Admins without MFA", "Admins who cannot complete MFA. Each one is a risk: register a method for them or block them.", f"sum by (tenant) ({m('entra_auth_methods_admins_without_mfa')})", th=ZERO_GOOD, color_mode=common.BigValueColorMode.BACKGROUND), 4, 4),
    )
    b.row(
        (bars("Registration per method", "Admin center, Registration tab: users who registered each authentication method.", f"sort_desc(sum by (method) ({m('entra_auth_methods_registered_users')}))", legend="{{method}}"), 12, 10),
        (bars("Capability and registration", "Admin center, Registration tab: share of users MFA capable, MFA registered, passwordless capable, SSPR capable, enabled and registered.", f"sum by (feature) ({m('entra_auth_methods_feature_users')}) / scalar(sum({m('entra_auth_methods_users')}))", unit="percentunit", th=thresholds((None, "blue")), legend="{{feature}}", max_=1), 12, 10),
    )
    b.row(
        (table(
            "Usage per method",
            "Admin center, Usage tab: successful and failed registration and reset activities per method in the usage period.",
            [
                target(f"sum by (feature, method) ({m('entra_auth_methods_usage_successes', period='$period')})", instant=True, table=True, ref="A"),
                target(f"sum by (feature, method) ({m('entra_auth_methods_usage_failures', period='$period')})", instant=True, table=True, ref="B"),
            ],
            transformations=[MERGE, organize(rename={"feature": "Activity", "method": "Method", "Value #A": "Successes", "Value #B": "Failures"}, order=["feature", "method", "Value #A", "Value #B"])],
            overrides=[("Failures", [dyn("thresholds", threshold_value([(None, "green"), (1, "orange")])), dyn("custom.cellOptions", {"type": "color-text"})])],
            sort=("Successes", True),
        ), 12, 10),
        (pie("MFA versus single-factor sign-ins", "Admin center, Usage tab: user sign-ins on the latest complete day by authentication requirement (userMfaSignInSummary).", f"sum by (authentication) ({m('entra_auth_methods_sign_ins')})", legend="{{authentication}}"), 6, 10),
        (pie("Default MFA method", "Users per default MFA method (`unset` when none). Not shown in the portal's activity view.", f"sum by (method) ({m('entra_auth_methods_default_mfa_method_users')})", legend="{{method}}"), 6, 10),
    )
    b.row(
        (timeseries(
            "MFA versus single-factor sign-ins per day",
            "User sign-ins per complete day by authentication requirement; a rising single-factor share needs a look at conditional access.",
            [target(f"sum by (authentication) (last_over_time({m('entra_auth_methods_sign_ins')}[1d]))", legend="{{authentication}}")],
            stack=True, steps=True,
        ), 12, 8),
        (bars("Self-service registration status", "Users per self-service password reset / MFA registration status, out of the enabled accounts (getCredentialUserRegistrationCount).", f"sum by (status) ({m('entra_auth_methods_credential_registration_users')}) / scalar(sum({m('entra_auth_methods_credential_registration_eligible_users')}))", unit="percentunit", th=thresholds((None, "blue")), legend="{{status}}", max_=1), 12, 8),
    )
    return b


def credentials() -> Board:
    b = Board(
        "entra-credentials",
        "Entra / Credentials and service principals",
        "Client secrets and certificates expiring or expired, unused credentials and stale service principals: the admin center's Application credential activity and Service principal sign-in activity reports, as lists you can act on.",
        "now-24h",
        ["usage-insights", "credentials"],
        extra_variables=[custom_var("within", "Expiring within (days)", "The expiry horizon of the table: 7, 30 or 90 days.", ["7", "30", "90"], "90")],
    )
    days = r("entra:app_credential_expiry_days")

    def count_between(lo: Optional[int], hi: Optional[int]) -> str:
        # `bool` keeps a 0 when nothing matches, so the stat reads 0 instead of "No data".
        parts = []
        if lo is not None:
            parts.append(f"({days} >= bool {lo})")
        if hi is not None:
            parts.append(f"({days} < bool {hi})")
        return f"sum by (tenant) ({' * '.join(parts)})"

    b.row(
        (stat("Expired", "Credentials past their end date but still present on an application or service principal.", count_between(None, 0), th=ZERO_GOOD, color_mode=common.BigValueColorMode.BACKGROUND), 4, 4),
        (stat(f"Expiring < {CRIT} days", f"Credentials that expire within {CRIT} days (alert EntraCredentialExpiringCritical).", count_between(0, CRIT), th=ZERO_GOOD, color_mode=common.BigValueColorMode.BACKGROUND), 4, 4),
        (stat(f"Expiring < {WARN} days", f"Credentials that expire within {WARN} days (alert EntraCredentialExpiringSoon from {CRIT} days on).", count_between(0, WARN), th=ZERO_GOOD_WARN, color_mode=common.BigValueColorMode.BACKGROUND), 4, 4),
        (stat("Expiring < 90 days", "Credentials that expire within 90 days: plan their rotation.", count_between(0, 90), th=thresholds((None, "green"), (1, "yellow"))), 4, 4),
        (stat("Never used", "Credentials the app credential sign-in report lists with no sign-in.", f"sum by (tenant) ({m('entra_app_credentials_never_used')})", th=ZERO_GOOD_WARN), 4, 4),
        (stat(f"Stale service principals ({SP_WINDOW})", f"Service principals with no sign-in of any kind for {SP_WINDOW}, never-used ones included (the exporter counts 30d and 90d windows).", f"sum by (tenant) ({m('entra_service_principals_without_recent_sign_in', window=SP_WINDOW)})", th=ZERO_GOOD_WARN), 4, 4),
    )
    cred_cols = ["app_name", "credential_type", "credential_name", "object", "Value", "app_id", "key_id"]
    cred_names = {"app_name": "Application", "credential_type": "Type", "credential_name": "Name", "object": "On", "app_id": "App ID", "key_id": "Key ID"}
    b.row(
        (table(
            "Secrets and certificates expiring within $within days",
            "Admin center: Application credential activity, expiration dates of every application's credentials in one place. Credentials that expire within the chosen horizon (7, 30 or 90 days), soonest first; red below 7 days, orange below 30, yellow below 90 (recording rule entra:app_credential_expiry_days).",
            [target(f"sort({days} < $within >= 0)", instant=True, table=True)],
            transformations=[organize(rename={**cred_names, "Value": "Days left"}, order=cred_cols)],
            overrides=[("Days left", [dyn("unit", "d"), dyn("decimals", 1), dyn("thresholds", threshold_value(DAYS_LEFT_STEPS)), color_cells()])],
            sort=("Days left", False),
        ), 24, 11),
    )
    b.row(
        (table(
            "Already expired credentials",
            "Credentials whose end date has passed but that are still present: remove them or, if something still uses them, rotate. Most recently expired first.",
            [target(f"sort(-{days} > 0)", instant=True, table=True)],
            transformations=[organize(rename={**cred_names, "Value": "Days since expiry"}, order=cred_cols)],
            overrides=[("Days since expiry", [dyn("unit", "d"), dyn("decimals", 0), dyn("thresholds", threshold_value([(None, "red")])), color_cells()])],
            sort=("Days since expiry", False),
        ), 12, 10),
        (table(
            "Valid credentials never used",
            "Credentials that have not expired and never signed in (expiry series without a matching key_id in appCredentialSignInActivities): candidates for removal.",
            [target(f"sort(({days} >= 0) unless on (tenant, key_id) {m('entra_app_credential_last_sign_in_timestamp_seconds')})", instant=True, table=True)],
            transformations=[organize(rename={**cred_names, "Value": "Days left"}, order=cred_cols)],
            overrides=[("Days left", [dyn("unit", "d"), dyn("decimals", 0), dyn("thresholds", threshold_value(DAYS_LEFT_STEPS)), color_cells()])],
            sort=("Days left", False),
        ), 12, 10),
    )
    # Application names come from the credential series (the sign-in reports carry only app_id);
    # topk by (...) (1, ...) keeps one name per app even if an app and its principal differ.
    names = f"topk by (tenant, app_id) (1, group by (tenant, app_id, app_name) ({m('entra_app_credential_expiry_timestamp_seconds')}))"
    unused = f"(time() - {m('entra_app_credential_last_sign_in_timestamp_seconds')}) / 86400 > {STALE_DAYS}"
    sp_idle = f"max by (tenant, app_id) ({r('entra:service_principal_days_since_last_sign_in')})"
    sp_stale = f"({sp_idle}) > {STALE_DAYS}"
    live_creds = f"max by (tenant, app_id) ({days} > 0)"
    b.row(
        (table(
            f"Credentials unused for {STALE_DAYS} days",
            f"Credentials whose last sign-in is older than {STALE_DAYS} days (appCredentialSignInActivities): probably no longer needed.",
            [target(f"sort_desc({unused})", instant=True, table=True)],
            transformations=[organize(rename={"app_id": "App ID", "credential_type": "Type", "object": "On", "key_id": "Key ID", "Value": "Days since last use"}, order=["app_id", "credential_type", "object", "key_id", "Value"])],
            overrides=[("Days since last use", [dyn("unit", "d"), dyn("decimals", 0)])],
            sort=("Days since last use", True),
        ), 12, 10),
        (table(
            "Stale service principals holding live credentials",
            f"Service principals without a sign-in for {STALE_DAYS} days whose application still has unexpired credentials: remove the credentials or the principal (alert EntraStaleServicePrincipalWithCredentials).",
            [target(f"sort_desc(({sp_stale} and on (tenant, app_id) {live_creds}) * on (tenant, app_id) group_left (app_name) {names})", instant=True, table=True)],
            transformations=[organize(rename={"app_name": "Application", "app_id": "App ID", "Value": "Days since last sign-in"}, order=["app_name", "app_id", "Value"])],
            overrides=[("Days since last sign-in", [dyn("unit", "d"), dyn("decimals", 0)])],
            sort=("Days since last sign-in", True),
        ), 12, 10),
    )
    b.row(
        (bars("Credentials by object and type", "Client secrets and certificates on applications and service principals, and how many of them never expire or were never used.", f"sum by (object, credential_type) ({m('entra_app_credentials')})", legend="{{object}} {{credential_type}}"), 8, 8),
        (bars("Credentials without expiry", "Secrets and certificates with no end date; they never show in the expiry tables, so track them here.", f"sum by (object, credential_type) ({m('entra_app_credentials_without_expiry')})", th=ZERO_GOOD_WARN, legend="{{object}} {{credential_type}}"), 8, 8),
        (timeseries(
            "Service principals without recent sign-in",
            "Service principals with no sign-in within 30 and 90 days, as polled: the trend of the Service principal sign-in activity report.",
            [target(f"sum by (window) ({m('entra_service_principals_without_recent_sign_in')})", legend="{{window}}")],
            steps=True,
        ), 8, 8),
    )
    return b


def activity() -> Board:
    b = Board(
        "entra-activity",
        "Entra / Sign-in and audit activity",
        "Sign-in rate by result, failures by error code, conditional access outcomes, risky sign-ins, audit and provisioning events, counted from the activity logs: what the admin center's sign-in, audit and provisioning logs show as lists, as rates you can alert on.",
        "now-6h",
        ["activity-logs"],
    )
    rate = "$__rate_interval"
    b.row(
        (stat("Sign-ins per minute", "All sign-ins per minute over the last five minutes (recording rule entra:sign_ins:rate5m).", f"sum by (tenant) ({r('entra:sign_ins:rate5m')}) * 60"), 6, 4),
        (stat("Failure ratio (5m)", "Failed over all sign-ins over the last five minutes; orange from 10 %, red from 25 %.", f"sum by (tenant) ({r('entra:sign_ins:rate5m', result='failure')}) / sum by (tenant) ({r('entra:sign_ins:rate5m')})", unit="percentunit", th=thresholds((None, "green"), (0.1, "orange"), (0.25, "red")), decimals=1), 6, 4),
        (stat("Unique users, 1 day", "Distinct users with an interactive or non-interactive sign-in in the last 24 hours (HyperLogLog estimate, about 1.6 % error).", f"max by (tenant) ({m('entra_sign_in_unique_users', window='1d')})"), 6, 4),
        (stat("Log ingestion delay", "How far the slowest activity log lags behind real time: every event up to now minus this has been counted.", f"max by (tenant) (time() - {m('entra_activity_log_watermark_timestamp_seconds')})", unit="s", th=thresholds((None, "green"), (900, "orange"), (3600, "red"))), 6, 4),
    )
    b.row(
        (timeseries(
            "Sign-in rate by result",
            "Sign-ins per second by result (recording rule entra:sign_ins:rate5m), stacked.",
            [target(f"sum by (result) ({r('entra:sign_ins:rate5m')})", legend="{{result}}")],
            unit="ops", stack=True,
        ), 12, 8),
        (timeseries(
            "Sign-in rate by event type",
            "Sign-ins per second by event type: interactive and non-interactive users, service principals, managed identities.",
            [target(f"sum by (event_type) (rate({m('entra_sign_ins_total')}[{rate}]))", legend="{{event_type}}")],
            unit="ops", stack=True,
        ), 12, 8),
    )
    b.row(
        (timeseries(
            "Failures by error code",
            "Failed sign-ins per second by error code, the ten most frequent (recording rule entra:sign_in_failures_by_error:rate5m).",
            [target(f"topk(10, sum by (error_code) ({r('entra:sign_in_failures_by_error:rate5m')}))", legend="{{error_code}}")],
            unit="ops", legend_table=True,
        ), 14, 9),
        (table(
            "Top failures in the time range",
            "Failed sign-ins by error code over the dashboard's time range, with the meaning of the most common codes.",
            [target(f"topk(15, sum by (error_code) (increase({m('entra_sign_ins_total', result='failure')}[$__range])))", instant=True, table=True)],
            transformations=[organize(rename={"error_code": "Error code", "Value": "Failures"})],
            overrides=[("Error code", [error_code_mapping()]), ("Failures", [dyn("decimals", 0)])],
            sort=("Failures", True),
        ), 10, 9),
    )
    b.row(
        (timeseries(
            "Conditional access outcomes",
            "Sign-ins per second by conditional access status: success, failure (blocked) and notApplied.",
            [target(f"sum by (status) (rate({m('entra_sign_ins_by_conditional_access_total')}[{rate}]))", legend="{{status}}")],
            unit="ops", stack=True,
        ), 8, 8),
        (timeseries(
            "Risky sign-ins",
            "User sign-ins per second by risk level during sign-in (low, medium, high; hidden without Entra ID P2).",
            [target(f"sum by (risk_level) (rate({m('entra_risky_sign_ins_total')}[{rate}]))", legend="{{risk_level}}")],
            unit="ops", stack=True,
        ), 8, 8),
        (pie("Sign-ins by client app", "User sign-ins by client app over the time range; legacy protocols (IMAP, POP, SMTP, Exchange ActiveSync) bypass MFA.", f"sum by (client_app) (increase({m('entra_sign_ins_by_client_app_total')}[$__range]))", legend="{{client_app}}"), 8, 8),
    )
    audit_parts = " or ".join(
        f'sum by (log, category, result) (label_replace(rate({m(metric)}[{rate}]), "log", "{log}", "", ""))'
        for metric, log in (
            ("entra_directory_audit_events_total", "directory"),
            ("entra_custom_security_attribute_audit_events_total", "custom_security_attributes"),
        )
    )
    b.row(
        (timeseries(
            "Audit events",
            "Directory audit events (and custom security attribute audit events, when that collector is enabled) per second by category and result.",
            [target(audit_parts, legend="{{log}} {{category}} {{result}}")],
            unit="ops", stack=True, legend_table=True,
        ), 12, 8),
        (timeseries(
            "Provisioning events",
            "Provisioning events per second by target system and status; failures and skips need a look at the provisioning logs.",
            [target(f"sum by (target_system, status) (rate({m('entra_provisioning_events_total')}[{rate}]))", legend="{{target_system}} {{status}}")],
            unit="ops", stack=True, legend_table=True,
        ), 12, 8),
    )
    b.row(
        (table(
            "Top audit activities in the time range",
            "Directory audit activities by category and result over the dashboard's time range.",
            [target(f"topk(15, sum by (category, activity, result) (increase({m('entra_directory_audit_events_total')}[$__range])))", instant=True, table=True)],
            transformations=[organize(rename={"category": "Category", "activity": "Activity", "result": "Result", "Value": "Events"}, order=["category", "activity", "result", "Value"])],
            overrides=[("Events", [dyn("decimals", 0)])],
            sort=("Events", True),
        ), 12, 9),
        (bars("Sign-ins by country in the time range", "User sign-ins by country (location.countryOrRegion) from the sign-in logs over the time range; the live counterpart of the External ID map.", f"topk(15, sum by (country) (increase({m('entra_sign_ins_by_country_total')}[$__range])))", legend="{{country}}"), 12, 9),
    )
    return b


def health() -> Board:
    b = Board(
        "entra-exporter-health",
        "Entra / Exporter health",
        "The exporter itself: collector success, poll duration and data age, Microsoft Graph requests, throttling and retries, token refreshes and activity-log ingestion.",
        "now-6h",
        ["health"],
    )
    rate = "$__rate_interval"
    age = r("entra:collector_data_age_seconds")
    b.row(
        (stat("Collectors up", "Collectors whose last poll succeeded, out of all collectors.", f"sum by (tenant) ({m('entra_collector_up')}) / count by (tenant) ({m('entra_collector_up')})", unit="percentunit", th=thresholds((None, "red"), (1, "green"))), 6, 4),
        (stat("Oldest data, relative to interval", "The largest ratio of a collector's data age to its poll interval; above 2 the data is stale (alert EntraCollectorDataStale).", f"max by (tenant) (({age}) / on (tenant, collector) group_left {m('entra_collector_interval_seconds')})", th=thresholds((None, "green"), (1.5, "orange"), (2, "red")), decimals=2), 6, 4),
        (stat("Graph requests per minute", "Requests sent to Microsoft Graph per minute.", f"sum by (tenant) (rate({m('entra_graph_requests_total')}[{rate}])) * 60"), 6, 4),
        (stat("Exporter version", "Version of each running exporter (entra_build_info).", f"count by (version) (entra_build_info{{{SELECTOR}}})", legend="{{version}}", th=NEUTRAL, text_mode=common.BigValueTextMode.NAME), 6, 4),
    )
    b.row(
        (table(
            "Collectors",
            "Per collector: up (last poll succeeded), duration of the last poll, age of its data and its poll interval. A collector that is down keeps serving its last good values.",
            [
                target(f"max by (tenant, collector) ({m('entra_collector_up')})", instant=True, table=True, ref="A"),
                target(f"max by (tenant, collector) ({m('entra_collector_duration_seconds')})", instant=True, table=True, ref="B"),
                target(f"max by (tenant, collector) ({age})", instant=True, table=True, ref="C"),
                target(f"max by (tenant, collector) ({m('entra_collector_interval_seconds')})", instant=True, table=True, ref="D"),
            ],
            transformations=[MERGE, organize(rename={"tenant": "Tenant", "collector": "Collector", "Value #A": "Up", "Value #B": "Last poll", "Value #C": "Data age", "Value #D": "Interval"}, order=["tenant", "collector", "Value #A", "Value #B", "Value #C", "Value #D"])],
            overrides=[
                ("Up", [dyn("mappings", [{"type": "value", "options": {"0": {"text": "down", "color": "red", "index": 0}, "1": {"text": "up", "color": "green", "index": 1}}}]), dyn("custom.cellOptions", {"type": "color-background", "mode": "basic"})]),
                ("Last poll", [dyn("unit", "s")]),
                ("Data age", [dyn("unit", "s")]),
                ("Interval", [dyn("unit", "s")]),
            ],
            sort=("Collector", False),
        ), 12, 10),
        (timeseries(
            "Data age per collector, relative to interval",
            "Seconds since each collector's last successful poll divided by its poll interval; the red line at 2 is where EntraCollectorDataStale fires.",
            [target(f"({age}) / on (tenant, collector) group_left {m('entra_collector_interval_seconds')}", legend="{{collector}}")],
            th=thresholds((None, "green"), (2, "red")), legend_table=True,
        ), 12, 10),
    )
    b.row(
        (timeseries(
            "Poll duration per collector",
            "Wall time of each collector's last poll, including retries and waits for the reports budget.",
            [target(f"max by (collector) ({m('entra_collector_duration_seconds')})", legend="{{collector}}")],
            unit="s", legend_table=True,
        ), 12, 8),
        (timeseries(
            "Collector up",
            "1 while a collector's last poll succeeded, 0 after a failure.",
            [target(f"min by (collector) ({m('entra_collector_up')})", legend="{{collector}}")],
            steps=True, legend_table=True,
        ), 12, 8),
    )
    # These counters only get a series once something happened (the first 429, the first retry);
    # a zero per tenant keeps the panel at 0 rather than "No data" until then.
    zero = f'label_replace(sum by (tenant) ({m("entra_collector_up")}) * 0, "{{label}}", "none", "", "")'
    b.row(
        (timeseries(
            "Graph requests by status",
            "HTTP requests to Microsoft Graph per second by response status (`error` when no response arrived).",
            [target(f"sum by (status) (rate({m('entra_graph_requests_total')}[{rate}]))", legend="{{status}}")],
            unit="reqps", stack=True,
        ), 8, 8),
        (timeseries(
            "Graph throttling (429)",
            "Throttled (HTTP 429) responses from Microsoft Graph per second by endpoint; 0 when Graph never throttled. Persisting throttling fires EntraGraphThrottling.",
            [target(f"sum by (endpoint) (rate({m('entra_graph_requests_total', status='429')}[{rate}])) or {zero.replace('{label}', 'endpoint')}", legend="{{endpoint}}")],
            unit="reqps", th=thresholds((None, "green"), (0.1, "red")),
        ), 8, 8),
        (timeseries(
            "Graph retries by reason",
            "Requests retried per second by reason (throttled, unavailable, timeout, connection, unauthorized); 0 until the first retry.",
            [target(f"sum by (reason) (rate({m('entra_graph_retries_total')}[{rate}])) or {zero.replace('{label}', 'reason')}", legend="{{reason}}")],
            unit="reqps", stack=True,
        ), 8, 8),
    )
    b.row(
        (timeseries(
            "Token refreshes",
            "Access token requests to the Entra token endpoint per hour by result; errors mean a wrong secret or certificate, or an expired one.",
            [target(f"sum by (result) (rate({m('entra_token_refreshes_total')}[1h])) * 3600", legend="{{result}}")],
            unit="short",
        ), 8, 8),
        (timeseries(
            "Reports budget wait",
            "Seconds per second collectors spent waiting for the tenant's reports budget (5 requests per 10 s); near 1 means the reports collectors are queueing all the time.",
            [target(f"sum by (tenant) (rate({m('entra_graph_reports_budget_wait_seconds_total')}[{rate}]))", legend="{{tenant}}")],
            unit="percentunit",
        ), 8, 8),
        (timeseries(
            "Activity-log ingestion delay",
            "Per log, how far the counted events lag behind real time (now minus the watermark).",
            [target(f"max by (log) (time() - {m('entra_activity_log_watermark_timestamp_seconds')})", legend="{{log}}")],
            unit="s",
        ), 8, 8),
    )
    b.row(
        (timeseries(
            "Activity-log events counted",
            "Events counted per second per log, and events read again in overlapping windows and skipped (duplicates).",
            [
                target(f"sum by (log) (rate({m('entra_activity_log_events_total')}[{rate}]))", legend="{{log}}"),
                target(f"sum by (tenant) (rate({m('entra_activity_log_duplicates_total')}[{rate}]))", legend="duplicates · {{tenant}}", ref="B"),
            ],
            unit="ops", legend_table=True,
        ), 24, 8),
    )
    return b


BOARDS: list[Callable[[], Board]] = [ext_users, ext_requests, ext_auth, app_activity, adfs, auth_methods, credentials, activity, health]


def render() -> dict[str, str]:
    """File name -> JSON text of every dashboard."""
    out = {}
    for make in BOARDS:
        board = make()
        text = json.dumps(board.build(), cls=JSONEncoder, indent=2, sort_keys=True) + "\n"
        out[f"{board.uid}.json"] = text
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="fail if grafana/dashboards/ differs from the generator's output")
    args = parser.parse_args()
    rendered = render()
    if args.check:
        problems = []
        for name, text in rendered.items():
            path = OUT_DIR / name
            if not path.exists():
                problems.append(f"{path.relative_to(REPO)} is missing")
                continue
            current = path.read_text()
            if current != text:
                diff = "".join(list(difflib.unified_diff(current.splitlines(True), text.splitlines(True), str(path.relative_to(REPO)), "generated", n=1))[:40])
                problems.append(f"{path.relative_to(REPO)} differs from the generator's output:\n{diff}")
        extra = sorted(p.name for p in OUT_DIR.glob("*.json") if p.name not in rendered)
        problems += [f"grafana/dashboards/{name} is not produced by the generator" for name in extra]
        if problems:
            print("\n".join(problems), file=sys.stderr)
            print("run grafana/generate.py and commit grafana/dashboards/", file=sys.stderr)
            return 1
        print(f"grafana/dashboards/ matches the generator ({len(rendered)} dashboards)")
        return 0
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for name, text in rendered.items():
        (OUT_DIR / name).write_text(text)
    print(f"wrote {len(rendered)} dashboards to {OUT_DIR.relative_to(REPO)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
