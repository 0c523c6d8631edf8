#!/usr/bin/env bash
# Copies grafana/dashboards/*.json into helm/entra-exporter/files/dashboards/ and regenerates the
# chart's rules template from monitoring/ (see scripts/deploy/chart_assets.py). Run it after
# changing a dashboard or a rule; `--check` only reports drift (CI: scripts/deploy/check.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
exec python3 scripts/deploy/chart_assets.py "$@"
