#!/usr/bin/env bash
# /metrics against nginx serving the identical body as a static file (issue 10, item 1).
#
#   scripts/bench/serving.sh
#
# Builds release, starts graph-sim at a scale where the exporter serves ~100,000 series
# (credential expiry series included), saves the exporter's body, serves it from nginx as
# a static file (and its gzip as a gzip_static file), and runs wrk (1 thread, 16 connections,
# keep-alive) against both, with and without `Accept-Encoding: gzip`, first between refreshes
# (long intervals) and then while the big collectors refresh every second. Prints req/s, p99
# and the ratio to nginx. Everything listens on 127.0.0.1.
#
# Then the tail: the slowest responses of nginx and the refreshing exporter, in turn, over
# TAIL_ROUNDS runs of TAIL_SECONDS each with a 30 s timeout (identity, where one response is
# 25 MB), with one wrk thread and then with four (TAIL_THREADS): the throughput runs keep the
# best round, which would hide a slow straggler, and one client thread reading 16 sockets
# that a server keeps full serves some of them late.
#
# Environment: APPS (app registrations, default 11000), DURATION (seconds per wrk run,
# default 12), ROUNDS (runs per case, best kept, default 2), TAIL_ROUNDS (default 3, 0 skips
# the tail), TAIL_SECONDS (default 30), COMPARE_BIN (another exporter binary, say one built
# from an earlier commit, whose tail is measured the same way after this one's), SKIP_BUILD=1
# to use the binaries in target/release as they are, PROFILE=1 to sample the exporter's call
# stacks with perf in each of its cases (reports in target/bench/serving/*.perf.txt).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

APPS="${APPS:-11000}"
DURATION="${DURATION:-12}"
ROUNDS="${ROUNDS:-2}"
TAIL_ROUNDS="${TAIL_ROUNDS:-3}"
TAIL_SECONDS="${TAIL_SECONDS:-30}"
TAIL_THREADS="${TAIL_THREADS:-1 4}"
if [[ -n "${COMPARE_BIN:-}" ]]; then
    [[ -x "$COMPARE_BIN" ]] || die "COMPARE_BIN=$COMPARE_BIN is not an executable"
fi

need curl curl
need python3 python3
need wrk wrk
need nginx nginx
if [[ "${PROFILE:-0}" == 1 ]]; then need perf linux-perf; fi

WORK="$ROOT/target/bench/serving"
rm -rf "$WORK"
mkdir -p "$WORK/www"
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

build_release

log "starting graph-sim with $APPS applications"
start_sim "$WORK/sim.log" --applications "$APPS" --no-reports-throttle
log "graph-sim at $SIM_URL"

# Runs wrk against $1 with Accept-Encoding $2 (none if empty) for $4 seconds into file $3;
# $5 is the timeout (default 10s), $6 the number of wrk threads (default 1).
run_wrk() {
    local url="$1" accept="$2" out="$3" seconds="$4" timeout="${5:-10s}" threads="${6:-1}"
    # A generous timeout: a 25 MB body on a busy 2-core machine can take over wrk's default
    # 2 s, and that is latency to report, not a socket error.
    local args=("-t$threads" -c16 "-d${seconds}s" --latency --timeout "$timeout")
    [[ -n "$accept" ]] && args+=(-H "Accept-Encoding: $accept")
    wrk "${args[@]}" "$url" >"$out" 2>&1 || die "wrk failed; see $out"
}

# Prints "rps p99_ms max_ms errors requests" from a wrk output file; errors are socket errors
# (timeouts included) and non-2xx responses.
parse_wrk() {
    python3 - "$1" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
scale = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}
def ms(match):
    return float(match.group(1)) * scale[match.group(2)]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
requests = int(re.search(r"(\d+) requests in", text).group(1))
p99 = ms(re.search(r"^\s+99%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.M))
# Thread Stats: "Latency  avg  stdev  max  +/- stdev".
top = ms(re.search(r"^\s+Latency\s+\S+\s+\S+\s+([\d.]+)(us|ms|s|m)\s", text, re.M))
errors = 0
s = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
if s:
    errors += sum(int(x) for x in s.groups())
n = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
if n:
    errors += int(n.group(1))
print(f"{rps:.1f} {p99:.2f} {top:.0f} {errors} {requests}")
PY
}

# CPU seconds (user + system) of a process so far, from /proc/PID/stat.
cpu_seconds() {
    awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$1/stat"
}

# Runs case $1 (a name) against $2 with Accept-Encoding $3, ROUNDS times after a warm-up,
# and records the best round (interference only makes a run slower) in $WORK/results. With
# a process id $4 (the exporter), also records that process's CPU milliseconds per request
# in the best round: what a scrape costs, whatever else shares the cores. With PROFILE=1,
# perf samples that process's call stacks over all rounds into $WORK/$1.perf.txt.
measure() {
    local name="$1" url="$2" accept="$3" pid="${4:-}" best="" round line cpu_ms perf_pid=""
    run_wrk "$url" "$accept" "$WORK/$name.warmup.txt" 2
    if [[ -n "$pid" && "${PROFILE:-0}" == 1 ]]; then
        perf record -q -F 499 -g -p "$pid" -o "$WORK/$name.perf.data" >/dev/null 2>&1 &
        perf_pid=$!
    fi
    for round in $(seq "$ROUNDS"); do
        local cpu_before=""
        [[ -n "$pid" ]] && cpu_before="$(cpu_seconds "$pid")"
        run_wrk "$url" "$accept" "$WORK/$name.$round.txt" "$DURATION"
        line="$(parse_wrk "$WORK/$name.$round.txt")"
        cpu_ms="-"
        if [[ -n "$pid" ]]; then
            cpu_ms="$(python3 -c "import sys; b, a, n = sys.argv[1:]; print(f'{(float(a) - float(b)) * 1000 / max(int(n), 1):.2f}')" \
                "$cpu_before" "$(cpu_seconds "$pid")" "${line##* }")"
        fi
        line="$line $cpu_ms"
        log "$name round $round: $line (req/s, p99 ms, max ms, errors, requests, CPU ms/request)"
        if [[ -z "$best" ]] || python3 -c "import sys; sys.exit(0 if float('${line%% *}') > float('${best%% *}') else 1)"; then
            best="$line"
        fi
    done
    if [[ -n "$perf_pid" ]]; then
        kill -INT "$perf_pid" 2>/dev/null || true
        wait "$perf_pid" 2>/dev/null || true
        # Self time by symbol: where the exporter's cycles went while it served this case.
        perf report -i "$WORK/$name.perf.data" --no-children --sort dso,symbol -g none --stdio \
            2>/dev/null | grep -v '^$' >"$WORK/$name.perf.txt" || true
        log "profile of $name: $WORK/$name.perf.txt"
    fi
    echo "$name $best" >>"$WORK/results"
}

# --- Between refreshes: every collector on a one-hour interval, all first polls done.
write_config "$WORK/idle.yaml" "$SIM_URL" 1h
start_exporter "$WORK/idle.yaml" "$WORK/exporter-idle.log"
log "exporter at $EXP_URL; waiting for every first poll"
wait_ready "$EXP_URL" 300
curl -fsS "$EXP_URL/metrics" -o "$WORK/www/metrics"
curl -fsS -H 'Accept-Encoding: gzip' "$EXP_URL/metrics" -o "$WORK/www/metrics.gz"
SERIES="$(count_series <"$WORK/www/metrics")"
BYTES="$(stat -c %s "$WORK/www/metrics")"
GZ_BYTES="$(stat -c %s "$WORK/www/metrics.gz")"
CRED="$(grep -c '^entra_app_credential_expiry_remaining_seconds' "$WORK/www/metrics" || true)"
gzip -dc "$WORK/www/metrics.gz" | count_series >"$WORK/gz-series"
[[ "$(cat "$WORK/gz-series")" == "$SERIES" ]] || die "the gzip body has $(cat "$WORK/gz-series") series, identity $SERIES"
log "body: $SERIES series ($CRED time-until-expiry), $BYTES bytes, gzip $GZ_BYTES bytes"

# nginx serves the saved body; gzip_static sends metrics.gz to clients that accept gzip.
# Same Content-Type and Vary as the exporter; keep-alive without a request limit, as hyper.
NGINX_PORT="$(free_port)"
USER_LINE=""
[[ "$(id -u)" == 0 ]] && USER_LINE="user root;"
chmod -R a+rX "$WORK/www"
mkdir -p "$WORK/nginx"
cat >"$WORK/nginx/nginx.conf" <<CONF
$USER_LINE
worker_processes auto;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000000;
    keepalive_timeout 60s;
    client_body_temp_path $WORK/nginx/tmp;
    proxy_temp_path $WORK/nginx/tmp;
    fastcgi_temp_path $WORK/nginx/tmp;
    uwsgi_temp_path $WORK/nginx/tmp;
    scgi_temp_path $WORK/nginx/tmp;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        root $WORK/www;
        location = /metrics {
            default_type "text/plain; version=0.0.4; charset=utf-8";
            gzip_static on;
            gzip_vary on;
        }
    }
}
CONF
nginx -t -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" >"$WORK/nginx/test.log" 2>&1 ||
    die "nginx rejected its config; see $WORK/nginx/test.log"
nginx -c "$WORK/nginx/nginx.conf" -p "$WORK/nginx" -g 'daemon off;' &
BENCH_PIDS+=("$!")
NGINX_URL="http://127.0.0.1:$NGINX_PORT/metrics"
wait_http "$NGINX_URL" 10
cmp -s <(curl -fsS "$NGINX_URL") "$WORK/www/metrics" || die "nginx does not serve the saved body"
cmp -s <(curl -fsS -H 'Accept-Encoding: gzip' "$NGINX_URL") "$WORK/www/metrics.gz" ||
    die "nginx does not serve the saved gzip body"

: >"$WORK/results"
measure nginx-identity "$NGINX_URL" ""
measure exporter-identity "$EXP_URL/metrics" "" "$EXP_PID"
measure nginx-gzip "$NGINX_URL" gzip
measure exporter-gzip "$EXP_URL/metrics" gzip "$EXP_PID"
stop_pid "$EXP_PID"

# --- During refreshes: the three big collectors poll every second, so a snapshot is swapped
# in (and re-rendered) every few hundred milliseconds while wrk runs.
write_config "$WORK/busy.yaml" "$SIM_URL" 1h 1s
start_exporter "$WORK/busy.yaml" "$WORK/exporter-busy.log"
log "exporter (refreshing every 1s) at $EXP_URL; waiting for every first poll"
wait_ready "$EXP_URL" 300
polls_before="$(grep -c 'poll succeeded' "$WORK/exporter-busy.log" || true)"
cpu_sim_before="$(cpu_seconds "$SIM_PID")"
cpu_exp_before="$(cpu_seconds "$EXP_PID")"
t_before=$SECONDS
measure refreshing-identity "$EXP_URL/metrics" "" "$EXP_PID"
measure refreshing-gzip "$EXP_URL/metrics" gzip "$EXP_PID"
polls_after="$(grep -c 'poll succeeded' "$WORK/exporter-busy.log" || true)"
log "$((polls_after - polls_before)) polls finished while wrk ran against the refreshing exporter"
# Where the cores went while refreshing: the simulator answering Graph pages and the
# exporter (serving, parsing pages, rendering) share the two cores with wrk.
python3 -c "import sys; s, e, t = (float(x) for x in sys.argv[1:]); print(f'CPU while refreshing: graph-sim {s / t:.2f} cores, exporter {e / t:.2f} cores (of 2) over {t:.0f} s')" \
    "$(echo "$(cpu_seconds "$SIM_PID") - $cpu_sim_before" | bc)" \
    "$(echo "$(cpu_seconds "$EXP_PID") - $cpu_exp_before" | bc)" \
    "$((SECONDS - t_before))" | tee "$WORK/cpu.txt"

# --- The tail, identity, refreshing every second: nginx and the exporter in turn, each round
# started after the throughput runs kept the body hot (so no scrape waits for a fresh render).
: >"$WORK/tail"
tail_round() {
    local name="$1" url="$2" round="$3" threads="$4" line
    run_wrk "$url" "" "$WORK/tail-$name.t$threads.$round.txt" "$TAIL_SECONDS" 30s "$threads"
    line="$(parse_wrk "$WORK/tail-$name.t$threads.$round.txt")"
    log "tail $name, $threads wrk threads, round $round: $line (req/s, p99 ms, max ms, errors, requests)"
    echo "$name $threads $line" >>"$WORK/tail"
}
tail_rounds() {
    local name="$1" round threads
    run_wrk "$EXP_URL/metrics" "" "$WORK/tail-$name.warmup.txt" 2
    for threads in $TAIL_THREADS; do
        for round in $(seq "$TAIL_ROUNDS"); do
            tail_round nginx "$NGINX_URL" "$name.$round" "$threads"
            tail_round "$name" "$EXP_URL/metrics" "$round" "$threads"
        done
    done
}
if ((TAIL_ROUNDS > 0)); then
    tail_rounds exporter
    if [[ -n "${COMPARE_BIN:-}" ]]; then
        stop_pid "$EXP_PID"
        EXPORTER_BIN="$COMPARE_BIN" start_exporter "$WORK/busy.yaml" "$WORK/exporter-compare.log"
        log "exporter from COMPARE_BIN at $EXP_URL; waiting for every first poll"
        wait_ready "$EXP_URL" 300
        tail_rounds compare
    fi
fi

python3 - "$WORK/results" "$SERIES" "$CRED" "$BYTES" "$GZ_BYTES" "$((polls_after - polls_before))" <<'PY'
import sys
rows = {}
for line in open(sys.argv[1]):
    name, rps, p99, _top, errors, _requests, cpu_ms = line.split()
    rows[name] = (float(rps), float(p99), int(errors), cpu_ms)
series, cred, size, gz, polls = sys.argv[2:]
print()
print(f"body: {int(series):,} series ({int(cred):,} time-until-expiry), "
      f"{int(size):,} bytes, gzip {int(gz):,} bytes; {polls} polls during the refreshing runs")
print()
print("| case | encoding | req/s | p99 ms | errors | ratio to nginx | exporter CPU ms/request |")
print("|---|---|---|---|---|---|---|")
for case, label in [("nginx", "nginx static file"), ("exporter", "exporter, between refreshes"),
                    ("refreshing", "exporter, refreshing every 1 s")]:
    for enc in ["identity", "gzip"]:
        rps, p99, errors, cpu_ms = rows[f"{case}-{enc}"]
        ratio = rps / rows[f"nginx-{enc}"][0]
        print(f"| {label} | {enc} | {rps:,.1f} | {p99:.2f} | {errors} | **{ratio:.2f}** | {cpu_ms} |")
bad = sum(r[2] for r in rows.values())
sys.exit(1 if bad else 0)
PY

if ((TAIL_ROUNDS > 0)); then
    python3 - "$WORK/tail" "$TAIL_SECONDS" <<'PY'
import sys
runs = {}
for line in open(sys.argv[1]):
    name, threads, _rps, p99, top, errors, requests = line.split()
    runs.setdefault((name, threads), []).append((float(p99), float(top), int(errors), int(requests)))
print()
print(f"The tail: identity, 16 connections, {sys.argv[2]} s rounds, nginx rounds interleaved "
      "with each exporter's")
print()
print("| server | wrk threads | p99 ms per round | max ms per round | worst max | ratio to nginx's worst max | timeouts and errors |")
print("|---|---|---|---|---|---|---|")
for threads in sorted({t for _, t in runs}, key=int):
    nginx_worst = max(r[1] for r in runs[("nginx", threads)])
    for name, label in [("nginx", "nginx static file"), ("exporter", "exporter"),
                        ("compare", "exporter (COMPARE_BIN)")]:
        r = runs.get((name, threads))
        if not r:
            continue
        worst = max(x[1] for x in r)
        print(f"| {label} | {threads} | {', '.join(f'{x[0]:,.0f}' for x in r)} | "
              f"{', '.join(f'{x[1]:,.0f}' for x in r)} | {worst:,.0f} | "
              f"**{worst / nginx_worst:.2f}** | {sum(x[2] for x in r)} |")
PY
fi

if [[ "${PROFILE:-0}" == 1 ]]; then
    echo
    echo "Exporter cycles by kind of work (perf, self time by leaf symbol):"
    echo
    header=--header
    for name in exporter-identity refreshing-identity exporter-gzip refreshing-gzip; do
        python3 "$ROOT/scripts/bench/perf_categories.py" "$name" $header <"$WORK/$name.perf.txt"
        header=
    done
fi
