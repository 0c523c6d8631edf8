#!/usr/bin/env bash
# Soak: the exporter against graph-sim with short intervals and intermittent faults, scraped
# steadily, its RSS sampled into a CSV (issue 9, "Load and soak").
#
#   scripts/bench/soak.sh [SECONDS]        # default 600
#   EXPORTER_BIN=target/release/entra-exporter scripts/bench/soak.sh 21600   # six hours
#
# Meant to run in the background of a CI job: everything listens on kernel-chosen loopback
# ports, and the results go to target/soak/ (rss.csv, summary.txt, exit-code, logs), so a
# later step can wait for target/soak/exit-code and read it.
#
# Fails (exit 1) if the exporter died, if any collector is not up with a recent success at
# the end (it never recovered from the faults), if a scrape failed, or if RSS grew: the median
# of the last quarter against the median of the second quarter (the first quarter is
# warm-up) by more than RSS_GROWTH_PCT (default 15) percent *and* more than RSS_GROWTH_MIB
# (default 8) MiB. Both bounds, because a few MiB of allocator noise is a large percentage of
# a small process, and a small percentage of a large one is still a leak worth seeing.
#
# Environment: EXPORTER_BIN, SIM_BIN (default: release build if present, else debug), APPS
# (default 3000), SCRAPE_EVERY (seconds, default 1), SAMPLE_EVERY (seconds, default 5).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DURATION="${1:-600}"
[[ "$DURATION" =~ ^[0-9]+$ && "$DURATION" -ge 60 ]] || die "usage: $0 [SECONDS >= 60]"
APPS="${APPS:-3000}"
SCRAPE_EVERY="${SCRAPE_EVERY:-1}"
SAMPLE_EVERY="${SAMPLE_EVERY:-5}"
RSS_GROWTH_PCT="${RSS_GROWTH_PCT:-15}"
RSS_GROWTH_MIB="${RSS_GROWTH_MIB:-8}"

# lib.sh defaults to the release binaries; a soak is about memory, not speed, so a debug
# build will do where there is no release one.
[[ -x "$EXPORTER_BIN" ]] || EXPORTER_BIN="$ROOT/target/debug/entra-exporter"
[[ -x "$SIM_BIN" ]] || SIM_BIN="$ROOT/target/debug/graph-sim"

need curl curl
need python3 python3

OUT="$ROOT/target/soak"
rm -rf "$OUT"
mkdir -p "$OUT"
finish() {
    local rc=$?
    bench_cleanup
    echo "$rc" >"$OUT/exit-code"
    echo "soak finished with exit code $rc; results in $OUT" >&2
}
trap finish EXIT
trap 'exit 130' INT TERM

# Fault windows over the first 70% of the run, none after, so every collector has time to
# recover before the final check. The rates below are rough request counts per minute at
# the default scale (credentials every 5 s reading ~4 pages each of applications and
# service principals); the windows only need to land while the run lasts.
FAULTS=()
windows=$((DURATION * 7 / 10 / 60))
((windows >= 1)) || windows=1
for k in $(seq 1 "$windows"); do
    FAULTS+=(--fault "applications:status=503:skip=$((k * 45)):times=3")
    # More 503s in a row than graph.max_retries (5) retries: the poll fails, the collector
    # goes down, and it must come back by itself at the next poll.
    FAULTS+=(--fault "servicePrincipals:status=503:skip=$((k * 45 + 30)):times=8")
    FAULTS+=(--fault "servicePrincipals:throttle=2:skip=$((k * 45 + 20)):times=4")
    FAULTS+=(--fault "servicePrincipalSignInActivities:latency=3s:skip=$((k * 20)):times=2")
    FAULTS+=(--fault "appCredentialSignInActivities:drop:skip=$((k * 12)):times=1")
    FAULTS+=(--fault "signIns:throttle:skip=$((k * 30)):times=2")
done
log "soak for ${DURATION}s: $EXPORTER_BIN against $SIM_BIN ($APPS applications, $windows fault windows)"
# The reports budget (5 requests per 10 s, shared by nine collectors) cannot sustain 15 s
# intervals: activity-log polls would fall further behind each time. The soak is about the
# exporter's memory and recovery, so the budget is off on both sides.
start_sim "$OUT/sim.log" --applications "$APPS" --no-reports-throttle "${FAULTS[@]}"

# Intervals of 5-15 s: the big collectors every 5-11 s, the reports ones every 15 s.
write_config "$OUT/config.yaml" "$SIM_URL" 15s 5s
sed -i 's/service_principal_sign_ins: {interval: 5s}/service_principal_sign_ins: {interval: 7s}/; s/app_credential_sign_ins: {interval: 5s}/app_credential_sign_ins: {interval: 11s}/; s/^graph:/graph:\n  reports_budget:\n    requests: 0/' "$OUT/config.yaml"
start_exporter "$OUT/config.yaml" "$OUT/exporter.log"
log "exporter at $EXP_URL (pid $EXP_PID)"

# Scrapes at a modest rate, alternating encodings; counts failures.
scraper() {
    local n=0 failures=0 accept
    while [[ ! -e "$OUT/stop" ]]; do
        n=$((n + 1))
        accept=identity
        ((n % 2 == 0)) && accept=gzip
        if ! curl -fsS --compressed -H "Accept-Encoding: $accept" -o /dev/null "$EXP_URL/metrics" 2>>"$OUT/scrape-errors.log"; then
            failures=$((failures + 1))
        fi
        echo "$n $failures" >"$OUT/scrapes"
        sleep "$SCRAPE_EVERY"
    done
}
scraper &
BENCH_PIDS+=("$!")

echo "elapsed_s,rss_kib" >"$OUT/rss.csv"
START=$SECONDS
while ((SECONDS - START < DURATION)); do
    rss="$(awk '/^VmRSS:/ {print $2}' "/proc/$EXP_PID/status" 2>/dev/null || true)"
    [[ -n "$rss" ]] || die "the exporter (pid $EXP_PID) died after $((SECONDS - START))s; see $OUT/exporter.log"
    echo "$((SECONDS - START)),$rss" >>"$OUT/rss.csv"
    sleep "$SAMPLE_EVERY"
done
touch "$OUT/stop"

# Every collector must be up, with a success in the last two minutes (its interval is at
# most 15 s, retries and backoff included); allow a minute for the last fault to pass.
deadline=$((SECONDS + 60))
while :; do
    kill -0 "$EXP_PID" 2>/dev/null || die "the exporter died; see $OUT/exporter.log"
    curl -fsS "$EXP_URL/metrics" >"$OUT/final.txt" || die "the final scrape failed"
    now="$(date +%s)"
    stale="$(awk -v now="$now" '
        /^entra_collector_up\{/ { match($0, /collector="[^"]*"/); c = substr($0, RSTART + 11, RLENGTH - 12); up[c] = $NF }
        /^entra_collector_last_success_timestamp_seconds\{/ { match($0, /collector="[^"]*"/); c = substr($0, RSTART + 11, RLENGTH - 12); last[c] = $NF }
        END { for (c in up) if (up[c] != 1 || now - last[c] > 120) printf "%s(up=%s, last success %ds ago) ", c, up[c], now - last[c] }' "$OUT/final.txt")"
    [[ -z "$stale" ]] && break
    ((SECONDS < deadline)) || die "collectors never recovered: $stale"
    sleep 2
done
read -r scrapes scrape_failures <"$OUT/scrapes" || true
failed_polls="$(grep -c 'poll failed' "$OUT/exporter.log" || true)"
ok_polls="$(grep -c 'poll succeeded' "$OUT/exporter.log" || true)"
series="$(count_series <"$OUT/final.txt")"
retries="$(grep '^entra_graph_retries_total' "$OUT/final.txt" | awk '{s += $NF} END {print s + 0}')"

python3 - "$OUT/rss.csv" "$RSS_GROWTH_PCT" "$RSS_GROWTH_MIB" "$DURATION" "$scrapes" "$scrape_failures" \
    "$ok_polls" "$failed_polls" "$series" "$EXPORTER_BIN" "$retries" <<'PY' | tee "$OUT/summary.txt"
import csv, statistics, sys
path, pct, mib, duration, scrapes, scrape_failures, ok, failed, series, binary, retries = sys.argv[1:]
rows = [(int(r["elapsed_s"]), int(r["rss_kib"])) for r in csv.DictReader(open(path))]
rss = [r for _, r in rows]
q = len(rss) // 4
second = statistics.median(rss[q:2 * q])
last = statistics.median(rss[3 * q:])
growth = last - second
growth_pct = 100.0 * growth / second
print(f"soak: {duration}s, {binary}")
print(f"  {ok} polls succeeded, {failed} failed, {retries} Graph requests retried (injected faults); "
      f"{scrapes} scrapes, {scrape_failures} failed; {series} series at the end")
print(f"  RSS MiB: first {rss[0] / 1024:.1f}, peak {max(rss) / 1024:.1f}, last {rss[-1] / 1024:.1f}; "
      f"median of 2nd quarter {second / 1024:.1f}, of last quarter {last / 1024:.1f} "
      f"({growth / 1024:+.1f} MiB, {growth_pct:+.1f}%)")
leak = growth_pct > float(pct) and growth / 1024 > float(mib)
# Retries absorb most injected faults (a poll fails only after graph.max_retries), so the
# retry counter, not failed polls, shows that the faults fired.
bad = leak or int(scrape_failures) > 0 or int(retries) == 0
if leak:
    print(f"  FAIL: RSS grew by more than {pct}% and {mib} MiB")
if int(scrape_failures) > 0:
    print("  FAIL: scrapes failed")
if int(retries) == 0:
    print("  FAIL: no Graph request was retried, so the faults did not fire")
print("  RESULT:", "FAIL" if bad else "PASS")
sys.exit(1 if bad else 0)
PY
