#!/usr/bin/env bash
# Peak and idle RSS of the exporter process (issue 10, item 2), printed as a table.
#
# Each case starts target/release/graph-sim as its own process, points the exporter at it with
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
# Env: USERS (default 1000000), APPS (default 100000).

set -euo pipefail
cd "$(dirname "$0")/../.."

USERS=${USERS:-1000000}
APPS=${APPS:-100000}
SIM_PORT=${SIM_PORT:-18787}
EXPORTER_PORT=${EXPORTER_PORT:-19725}
TENANT_ID=7f3c2a10-5b4e-4c1d-9e8f-0a1b2c3d4e5f
CLIENT_ID=5d3b1e0f-6a2c-4e8b-9f71-3c4d5e6f7a8b
CLIENT_SECRET='sim~demo-secret-value'
COLLECTORS=(credentials service_principal_sign_ins app_credential_sign_ins user_insights
  application_sign_in_summary adfs_relying_parties auth_methods_registration auth_methods_usage
  sign_ins directory_audits provisioning custom_security_attribute_audits)

if [[ ${1:-} != --no-build ]]; then
  cargo build --release -q -p graph-sim -p entra-exporter
fi
SIM=${SIM:-target/release/graph-sim}
EXPORTER=${EXPORTER:-target/release/entra-exporter}
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

kib() { awk -v k="$1" '/^'"$1"':/ {print $2}' "/proc/$2/status"; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }

wait_http() {
  for _ in $(seq 1 600); do
    # Any HTTP answer will do: the simulator has no page at its root.
    curl -sS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "no answer from $1" >&2
  return 1
}

# run_case LABEL COLLECTOR ROWS_METRIC SIM_ARGS...: prints a table row; ROWS_METRIC is summed
# over /metrics to show how many rows (users, credentials) the poll read.
run_case() {
  local label=$1 collector=$2 rows_metric=$3
  shift 3
  "$SIM" --listen "127.0.0.1:$SIM_PORT" --no-reports-throttle --no-throttle "$@" \
    >"$WORK/sim.log" 2>&1 &
  local sim=$!
  PIDS+=("$sim")
  wait_http "http://127.0.0.1:$SIM_PORT/"
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
    echo "tenants:"
    echo "  - name: bench"
    echo "    tenant_id: $TENANT_ID"
    echo "    client_id: $CLIENT_ID"
    echo "    auth: {client_secret: '$CLIENT_SECRET'}"
    echo "    authority_host: http://127.0.0.1:$SIM_PORT/"
    echo "    graph_base_url: http://127.0.0.1:$SIM_PORT/"
  } >"$WORK/config.yaml"
  local started
  started=$(date +%s.%N)
  "$EXPORTER" --config.file "$WORK/config.yaml" --web.listen-address "127.0.0.1:$EXPORTER_PORT" \
    >"$WORK/exporter.log" 2>&1 &
  local exporter=$!
  PIDS+=("$exporter")
  local metrics=$WORK/metrics.txt
  while :; do
    if ! kill -0 "$exporter" 2>/dev/null; then
      echo "exporter exited; log:" >&2
      cat "$WORK/exporter.log" >&2
      return 1
    fi
    if curl -fsS "http://127.0.0.1:$EXPORTER_PORT/metrics" -o "$metrics" 2>/dev/null &&
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
  peak=$(kib VmHWM "$exporter")
  rss=$(kib VmRSS "$exporter")
  series=$(grep -vc '^#' "$metrics")
  rows=$(awk -v m="$rows_metric" '$1 == m || index($1, m "{") == 1 {n += $2} END {printf "%d", n}' "$metrics")
  printf '| %s | %s | %s | %s | %s | %s |\n' "$label" "$rows" "$seconds" "$(mib "$peak")" "$(mib "$rss")" "$series"
  kill "$exporter" "$sim"
  wait "$exporter" "$sim" 2>/dev/null || true
  PIDS=()
}

# idle_demo: RSS of `entra-exporter --demo` once every collector is ready, then 30 s later.
idle_demo() {
  "$EXPORTER" --demo --web.listen-address "127.0.0.1:$EXPORTER_PORT" >"$WORK/demo.log" 2>&1 &
  local demo=$!
  PIDS+=("$demo")
  for _ in $(seq 1 600); do
    curl -fsS -o /dev/null "http://127.0.0.1:$EXPORTER_PORT/readyz" 2>/dev/null && break
    sleep 0.2
  done
  sleep 30
  local series
  series=$(curl -fsS "http://127.0.0.1:$EXPORTER_PORT/metrics" | grep -vc '^#')
  printf '| %s | %s | %s | %s | %s | %s |\n' "demo, idle 30 s after ready (simulator in-process)" "-" "-" \
    "$(mib "$(kib VmHWM "$demo")")" "$(mib "$(kib VmRSS "$demo")")" "$series"
  kill "$demo"
  wait "$demo" 2>/dev/null || true
  PIDS=()
}

echo "| Case | Rows read | Seconds to first poll | Peak RSS (VmHWM), MiB | RSS after, MiB | Series on /metrics |"
echo "|---|---|---|---|---|---|"
run_case "auth_methods_registration, --users $USERS" auth_methods_registration entra_auth_methods_users --users "$USERS"
run_case "auth_methods_registration, --users $((USERS * 2))" auth_methods_registration entra_auth_methods_users --users "$((USERS * 2))"
run_case "credentials, --applications $APPS" credentials entra_app_credentials --applications "$APPS" --max-credentials-per-app 5
idle_demo
