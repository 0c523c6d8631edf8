#!/usr/bin/env bash
# Every monitoring check of entra-exporter, on a machine that may be fresh:
#   1. rules: scripts/monitoring/check_rules.sh (generated rules up to date, promtool check and
#      test rules);
#   2. dashboards as code: grafana/generate.py --check (committed JSON == generator output);
#   3. dashboards: check_dashboards.py (Grafana schema types, layout, and every panel query
#      against Debian's Prometheus scraping the demo, with the rules loaded);
#   4. alert delivery: check_alert_delivery.py (Prometheus -> Alertmanager -> webhook).
# Installs what is missing first (Debian prometheus and prometheus-alertmanager, the pinned
# Python packages, the demo binary). Runs every step and exits non-zero if any failed.
set -uo pipefail
cd "$(dirname "$0")/../.."

step() { printf '\n==> %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_updated=
apt_install() {
  [ -n "$apt_updated" ] || { as_root apt-get update -qq && apt_updated=1; }
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}
started=$(date +%s)

step "installing what is missing"
packages=()
command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 || packages+=(prometheus)
command -v prometheus-alertmanager >/dev/null 2>&1 || command -v alertmanager >/dev/null 2>&1 || packages+=(prometheus-alertmanager)
python3 -m pip --version >/dev/null 2>&1 || packages+=(python3-pip)
if [ ${#packages[@]} -gt 0 ]; then apt_install "${packages[@]}" || exit 1; fi
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || { echo "python3 is $(python3 -V 2>&1); the Grafana Foundation SDK needs Python 3.11 or newer" >&2; exit 1; }
if ! python3 -c 'import yaml, grafana_foundation_sdk, matplotlib' 2>/dev/null; then
  # Debian's own Python refuses plain `pip install` (PEP 668); this is a throw-away CI machine.
  python3 -m pip install --quiet --disable-pip-version-check -r scripts/monitoring/requirements.txt 2>/dev/null \
    || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages -r scripts/monitoring/requirements.txt \
    || exit 1
fi
cargo build --quiet --bin entra-exporter || exit 1
prometheus --version 2>&1 | head -n 1
prometheus-alertmanager --version 2>&1 | head -n 1

failed=()
run() {
  local name=$1; shift
  step "$name"
  local t0; t0=$(date +%s)
  if "$@"; then
    printf -- '--- %s: ok (%s s)\n' "$name" "$(($(date +%s) - t0))"
  else
    printf -- '--- %s: FAILED (%s s)\n' "$name" "$(($(date +%s) - t0))"
    failed+=("$name")
  fi
}

if [ -x scripts/monitoring/check_rules.sh ]; then
  run "rules (check_rules.sh)" scripts/monitoring/check_rules.sh
else
  echo "scripts/monitoring/check_rules.sh not present: rules checks skipped"
fi
run "dashboards match grafana/generate.py" python3 grafana/generate.py --check
# The two live checks each run their own demo and Prometheus on free ports: run them side by
# side (most of their time is waiting for the demo), and print the delivery log after.
delivery_log=$(mktemp)
python3 scripts/monitoring/check_alert_delivery.py --wait-rules 0 >"$delivery_log" 2>&1 &
delivery=$!
trap 'kill "$delivery" 2>/dev/null; rm -f "$delivery_log"' EXIT
run "dashboards: schema, layout, every panel against a real Prometheus" python3 scripts/monitoring/check_dashboards.py
name="alert delivery: Prometheus -> Alertmanager -> webhook (ran alongside)"
step "$name"
if wait "$delivery"; then
  cat "$delivery_log"; printf -- '--- %s: ok\n' "$name"
else
  cat "$delivery_log"; printf -- '--- %s: FAILED\n' "$name"; failed+=("$name")
fi

printf '\nmonitoring checks took %s s\n' "$(($(date +%s) - started))"
if [ ${#failed[@]} -gt 0 ]; then
  printf 'FAILED: %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "monitoring: all checks passed"
