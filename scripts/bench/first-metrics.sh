#!/usr/bin/env bash
# Time to first metrics (issue 10, item 6): from the exporter's process start to every
# collector ready, for the demo tenant and for a large tenant, release build.
#
# "Ready" is /readyz answering exactly "ready": every enabled collector has finished its first
# poll (a 200 that says the readiness deadline passed does not count). The time each collector
# first shows entra_collector_up on /metrics is recorded too (polled every 50 ms), with its
# value, so a collector that came up failed is visible.
#
# Cases:
# - demo: `entra-exporter --demo`, the simulator in-process with the demo tenant (300 apps,
#   1,200 users) and Graph's documented budgets: the reports service's 5 requests per 10 s is
#   paced by the exporter and enforced by the simulator.
# - large: graph-sim (release) as its own process with APPS applications and USERS users,
#   started (and its tenant generated) before the clock starts; both budgets off, as in
#   scripts/bench/memory.sh, so this is the exporter's own speed. Under the real reports
#   budget a refresh of a large tenant is bound by the budget instead: the script prints that
#   bound from the reports-service requests the first refresh sent, counted from the
#   exporter's own entra_graph_requests_total (inner requests of a JSON batch included: each
#   takes a slot of the budget).
#
# Usage: scripts/bench/first-metrics.sh [--no-build]
# Env: APPS (default 100000), USERS (default 1000000), SKIP_BUILD=1 (as --no-build),
# EXPORTER_BIN, SIM_BIN.

set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

APPS=${APPS:-100000}
USERS=${USERS:-1000000}
# Endpoints of the identity-and-access reports service (reference §10.2), as the exporter
# labels its requests.
REPORTS_ENDPOINTS='getAzureADApplicationSignInSummary|getRelyingPartyDetailedSummary|authenticationMethods/userRegistrationDetails|userMfaSignInSummary|getCredentialUsageSummary|getCredentialUserRegistrationCount|auditLogs/'

bench_init "$@"

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN {printf "%.2f", b - a}'; }

# measure LABEL PID STARTED: waits for /readyz "ready", recording when each collector's
# entra_collector_up first appears; prints the table row and the per-collector times.
measure() {
  local label=$1 pid=$2 started=$3
  local base="$EXP_URL"
  declare -A seen=()
  local ready=""
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "exporter exited; log:" >&2
      tail -20 "$WORK/exporter.log" >&2
      return 1
    fi
    local t
    t=$(since "$started")
    if curl -fsS "$base/metrics" -o "$WORK/metrics.txt" 2>/dev/null; then
      while read -r collector value; do
        [[ -n ${seen[$collector]:-} ]] || seen[$collector]="$t s (up=$value)"
      done < <(sed -n 's/^entra_collector_up{.*collector="\([^"]*\)".*} \(.*\)$/\1 \2/p' "$WORK/metrics.txt")
    fi
    if [[ $(curl -sS "$base/readyz" 2>/dev/null) == "ready" ]]; then
      ready=$(since "$started")
      break
    fi
    sleep 0.05
  done
  curl -fsS "$base/metrics" -o "$WORK/metrics.txt"
  # Collectors that finished between the last /metrics and /readyz: ready by then.
  while read -r collector value; do
    [[ -n ${seen[$collector]:-} ]] || seen[$collector]="$ready s (up=$value)"
  done < <(sed -n 's/^entra_collector_up{.*collector="\([^"]*\)".*} \(.*\)$/\1 \2/p' "$WORK/metrics.txt")
  local series reports_requests
  series=$(grep -vc '^#' "$WORK/metrics.txt")
  reports_requests=$(grep '^entra_graph_requests_total{' "$WORK/metrics.txt" |
    grep -E "endpoint=\"[^\"]*($REPORTS_ENDPOINTS)" |
    awk '{s += $NF} END {print s + 0}')
  local slowest
  slowest=$(for c in "${!seen[@]}"; do echo "${seen[$c]%% s*} $c"; done | sort -n | tail -1)
  printf '| %s | %s | %s | %s | %s |\n' "$label" "$ready" "${slowest#* } (${slowest%% *} s)" \
    "$reports_requests" "$series"
  {
    echo "$label:"
    for c in "${!seen[@]}"; do echo "  $c: ${seen[$c]}"; done | sort
  } >>"$WORK/collectors.txt"
}

echo "| Case | Seconds from process start to /readyz \"ready\" | Last collector ready | Reports-service requests in the first refresh | Series |"
echo "|---|---|---|---|---|"

# Demo tenant: one process, simulator in-process, documented budgets.
started=$(now)
launch_exporter "$WORK/exporter.log" --demo
measure "demo (300 apps, 1,200 users; budgets on)" "$EXP_PID" "$started"
bench_cleanup

# Large tenant: the simulator first (not timed), then the exporter.
sim_started=$(now)
start_sim "$WORK/sim.log" --applications "$APPS" --users "$USERS" --no-reports-throttle --no-throttle
sim_ready=$(since "$sim_started")
{
  echo "graph:"
  echo "  reports_budget:"
  echo "    requests: 0"
  tenant_yaml "$WORK" "$SIM_URL"
} >"$WORK/config.yaml"
started=$(now)
start_exporter "$WORK/config.yaml" "$WORK/exporter.log"
measure "large ($APPS apps, $USERS users; budgets off)" "$EXP_PID" "$started"
echo
echo "Simulator start-up for the large tenant (not counted above): $sim_ready s"
echo
cat "$WORK/collectors.txt"
