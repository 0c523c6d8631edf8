#!/usr/bin/env bash
# Peak and idle RSS of the exporter process (issue 10, item 2), printed as a table.
#
# Each case starts graph-sim (release) as its own process, points the exporter at it with
# a config file that enables one collector, waits for that collector's first successful poll
# (entra_collector_last_success_timestamp_seconds on /metrics) and reads the exporter's VmHWM
# (peak RSS) and VmRSS from /proc/<pid>/status. Only the exporter is measured.
#
# Both budgets are off so a million users take seconds, not the 35 minutes Graph's reports
# budget of 5 requests per 10 s allows: the simulator runs with --no-reports-throttle
# --no-throttle and the exporter with graph.reports_budget.requests: 0. Pacing changes when
# pages arrive, not what each page costs, so the peak is the same.
#
# Usage: scripts/bench/memory.sh [--no-build]
# Env: USERS (default 1000000), APPS (default 100000), SKIP_BUILD=1 (as --no-build),
# EXPORTER_BIN, SIM_BIN.

set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

USERS=${USERS:-1000000}
APPS=${APPS:-100000}
COLLECTORS=(credentials service_principal_sign_ins app_credential_sign_ins user_insights
  application_sign_in_summary adfs_relying_parties auth_methods_registration auth_methods_usage
  sign_ins directory_audits provisioning custom_security_attribute_audits)

bench_init "$@"

kib() { awk '/^'"$1"':/ {print $2}' "/proc/$2/status"; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }

# run_case LABEL COLLECTOR ROWS_METRIC SIM_ARGS...: prints a table row; ROWS_METRIC is summed
# over /metrics to show how many rows (users, credentials) the poll read.
run_case() {
  local label=$1 collector=$2 rows_metric=$3
  shift 3
  start_sim "$WORK/sim.log" --no-reports-throttle --no-throttle "$@"
  {
    echo "graph:"
    echo "  reports_budget:"
    echo "    requests: 0"
    echo "collectors:"
    for c in "${COLLECTORS[@]}"; do
      if [[ $c == "$collector" ]]; then
        echo "  $c: {enabled: true, interval: 24h}"
      else
        echo "  $c: {enabled: false}"
      fi
    done
    tenant_yaml "$WORK" "$SIM_URL"
  } >"$WORK/config.yaml"
  local started
  started=$(date +%s.%N)
  start_exporter "$WORK/config.yaml" "$WORK/exporter.log"
  local metrics=$WORK/metrics.txt
  while :; do
    if ! kill -0 "$EXP_PID" 2>/dev/null; then
      echo "exporter exited; log:" >&2
      cat "$WORK/exporter.log" >&2
      return 1
    fi
    if curl -fsS "$EXP_URL/metrics" -o "$metrics" 2>/dev/null &&
      grep -q "^entra_collector_last_success_timestamp_seconds{.*collector=\"$collector\"" "$metrics"; then
      break
    fi
    if grep -q "^entra_collector_up{.*collector=\"$collector\".*} 0" "$metrics" 2>/dev/null; then
      echo "$collector failed; log:" >&2
      tail -5 "$WORK/exporter.log" >&2
      return 1
    fi
    sleep 0.2
  done
  local seconds peak rss series rows
  seconds=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
  peak=$(kib VmHWM "$EXP_PID")
  rss=$(kib VmRSS "$EXP_PID")
  series=$(count_series <"$metrics")
  rows=$(awk -v m="$rows_metric" '$1 == m || index($1, m "{") == 1 {n += $2} END {printf "%d", n}' "$metrics")
  printf '| %s | %s | %s | %s | %s | %s |\n' "$label" "$rows" "$seconds" "$(mib "$peak")" "$(mib "$rss")" "$series"
  bench_cleanup
}

# idle_demo: RSS of `entra-exporter --demo` once every collector is ready, then 30 s later.
idle_demo() {
  launch_exporter "$WORK/demo.log" --demo
  wait_ready "$EXP_URL" 120
  sleep 30
  local series
  series=$(curl -fsS "$EXP_URL/metrics" | count_series)
  printf '| %s | %s | %s | %s | %s | %s |\n' "demo, idle 30 s after ready (simulator in-process)" "-" "-" \
    "$(mib "$(kib VmHWM "$EXP_PID")")" "$(mib "$(kib VmRSS "$EXP_PID")")" "$series"
  bench_cleanup
}

echo "| Case | Rows read | Seconds to first poll | Peak RSS (VmHWM), MiB | RSS after, MiB | Series on /metrics |"
echo "|---|---|---|---|---|---|"
run_case "auth_methods_registration, --users $USERS" auth_methods_registration entra_auth_methods_users --users "$USERS"
run_case "auth_methods_registration, --users $((USERS * 2))" auth_methods_registration entra_auth_methods_users --users "$((USERS * 2))"
run_case "credentials, --applications $APPS" credentials entra_app_credentials --applications "$APPS" --max-credentials-per-app 5
idle_demo
