#!/usr/bin/env bash
# wrk load on /metrics while collectors refresh under injected Graph faults (issue 9, "Load and
# soak").
#
#   scripts/bench/load.sh
#
# Starts graph-sim at ~100,000 series with fault windows spread over the run (503 and 502
# bursts in the middle of paging, 429 storms with and without Retry-After, slow responses,
# connections dropped mid-body), the exporter with the big collectors polling every second,
# and runs wrk (1 thread, 16 connections, keep-alive, half the connections asking for gzip)
# for LOAD_SECONDS. A wrk Lua script checks every response (status 200, complete body); in
# parallel, a sampler fetches /metrics every second in both encodings and runs
# `promtool check metrics` on each sample. Exits non-zero on any socket error, non-200
# response, incomplete body, failed sample, or if the exporter died.
#
# Environment: APPS (default 11000), LOAD_SECONDS (default 60), SKIP_BUILD=1 to use the
# binaries in target/release as they are.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

APPS="${APPS:-11000}"
LOAD_SECONDS="${LOAD_SECONDS:-60}"

need curl curl
need python3 python3
need wrk wrk
need promtool prometheus

WORK="$ROOT/target/bench/load"
rm -rf "$WORK"
mkdir -p "$WORK/samples"
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

build_release

# Fault windows: each rule lets `skip` matching requests through, then breaks `times`. The
# big collectors read ~12 pages of applications and of service principals per poll, once a
# second, so these windows recur every few seconds for a few minutes.
FAULTS=()
for k in $(seq 1 40); do
    FAULTS+=(--fault "applications:status=503:skip=$((k * 30)):times=3")
    FAULTS+=(--fault "applications:drop:skip=$((k * 30 + 15)):times=1")
    FAULTS+=(--fault "servicePrincipals:throttle=1:skip=$((k * 30 + 5)):times=6")
    FAULTS+=(--fault "servicePrincipals:status=502:skip=$((k * 30 + 20)):times=2")
    FAULTS+=(--fault "servicePrincipalSignInActivities:throttle:skip=$((k * 20)):times=4")
    FAULTS+=(--fault "appCredentialSignInActivities:latency=2s:skip=$((k * 10)):times=2")
done
log "starting graph-sim with $APPS applications and ${#FAULTS[@]} fault arguments"
start_sim "$WORK/sim.log" --applications "$APPS" --no-reports-throttle "${FAULTS[@]}"

write_config "$WORK/config.yaml" "$SIM_URL" 5s 1s
start_exporter "$WORK/config.yaml" "$WORK/exporter.log"
log "exporter at $EXP_URL; waiting for every first poll"
wait_ready "$EXP_URL" 300
BASELINE="$(curl -fsS "$EXP_URL/metrics" | count_series)"
log "serving $BASELINE series"

# Checks every response in wrk itself: status 200, a body as long as Content-Length, and for
# identity a text that ends with a newline after a complete last sample.
cat >"$WORK/check.lua" <<'LUA'
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end
function init(args)
  responses, bad_status, incomplete, gzipped = 0, 0, 0, 0
end
-- Every other request asks for gzip, so both bodies are loaded at once.
local n = 0
function request()
  n = n + 1
  if n % 2 == 0 then
    return wrk.format(nil, nil, { ["Accept-Encoding"] = "gzip" })
  end
  return wrk.format(nil, nil, {})
end
function response(status, headers, body)
  responses = responses + 1
  if status ~= 200 then
    bad_status = bad_status + 1
    return
  end
  local length = tonumber(headers["content-length"] or headers["Content-Length"] or -1)
  if length ~= #body then
    incomplete = incomplete + 1
    return
  end
  local encoding = headers["content-encoding"] or headers["Content-Encoding"]
  if encoding == "gzip" then
    gzipped = gzipped + 1
    if #body < 20 or body:byte(1) ~= 0x1f or body:byte(2) ~= 0x8b then
      incomplete = incomplete + 1
    end
  elseif body:sub(-1) ~= "\n" or not body:sub(-300):find("\nentra_[%w_]+[{ ][^\n]* [^\n]+\n$") then
    incomplete = incomplete + 1
  end
end
function done(summary, latency, requests)
  local r, b, i, g = 0, 0, 0, 0
  for _, t in ipairs(threads) do
    r = r + t:get("responses")
    b = b + t:get("bad_status")
    i = i + t:get("incomplete")
    g = g + t:get("gzipped")
  end
  io.write(string.format("lua: responses=%d bad_status=%d incomplete=%d gzipped=%d\n", r, b, i, g))
end
LUA

# Samples /metrics every second in both encodings while wrk runs; one CSV line per sample.
sampler() {
    local i=0 file status ok series
    echo "elapsed_s,encoding,status,series,complete,promtool" >"$WORK/samples.csv"
    while [[ ! -e "$WORK/stop-sampler" ]]; do
        i=$((i + 1))
        for encoding in identity gzip; do
            file="$WORK/samples/$i.$encoding"
            if [[ "$encoding" == gzip ]]; then
                status="$(curl -sS -H 'Accept-Encoding: gzip' -o "$file.gz" -w '%{http_code}' "$EXP_URL/metrics" || echo 000)"
                if gzip -t "$file.gz" 2>/dev/null; then gzip -dc "$file.gz" >"$file"; else : >"$file"; fi
                rm -f "$file.gz"
            else
                status="$(curl -sS -o "$file" -w '%{http_code}' "$EXP_URL/metrics" || echo 000)"
            fi
            # Complete: non-empty, ends in a newline, and the self-metrics (rendered last) are there.
            ok=no
            if [[ -s "$file" && -z "$(tail -c1 "$file")" ]] && grep -q '^entra_build_info{' "$file"; then ok=yes; fi
            series="$(count_series <"$file")"
            if promtool check metrics <"$file" >"$file.promtool" 2>&1; then
                echo "$SECONDS,$encoding,$status,$series,$ok,ok" >>"$WORK/samples.csv"
                rm -f "$file" "$file.promtool"
            else
                echo "$SECONDS,$encoding,$status,$series,$ok,FAILED" >>"$WORK/samples.csv"
            fi
        done
        sleep 1
    done
}

STARTED=$SECONDS
sampler &
SAMPLER_PID=$!
BENCH_PIDS+=("$SAMPLER_PID")
log "wrk for ${LOAD_SECONDS}s (1 thread, 16 connections, half gzip) with the sampler running"
polls_before="$(grep -c 'poll succeeded' "$WORK/exporter.log" || true)"
failed_before="$(grep -c 'poll failed' "$WORK/exporter.log" || true)"
# --timeout: a slow response is latency, reported; only a broken one is an error.
wrk -t1 -c16 "-d${LOAD_SECONDS}s" --latency --timeout 30s -s "$WORK/check.lua" "$EXP_URL/metrics" >"$WORK/wrk.txt" 2>&1 ||
    die "wrk failed; see $WORK/wrk.txt"
touch "$WORK/stop-sampler"
wait "$SAMPLER_PID" || true
polls="$(($(grep -c 'poll succeeded' "$WORK/exporter.log" || true) - polls_before))"
failed="$(($(grep -c 'poll failed' "$WORK/exporter.log" || true) - failed_before))"
kill -0 "$EXP_PID" 2>/dev/null || die "the exporter died during the load; see $WORK/exporter.log"
curl -fsS "$EXP_URL/metrics" >"$WORK/final.txt"
retries="$(grep '^entra_graph_retries_total' "$WORK/final.txt" | awk '{s += $NF} END {print s + 0}')"
statuses="$(grep '^entra_graph_requests_total' "$WORK/final.txt" | grep -v 'status="200"' | awk '{s += $NF} END {print s + 0}')"
cat "$WORK/wrk.txt"

python3 - "$WORK/wrk.txt" "$WORK/samples.csv" "$BASELINE" "$polls" "$failed" "$retries" "$statuses" "$((SECONDS - STARTED))" <<'PY'
import csv, re, sys
wrk_file, samples_file, baseline, polls, failed, retries, statuses, seconds = sys.argv[1:]
text = open(wrk_file).read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
total = int(re.search(r"(\d+) requests in", text).group(1))
m = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
p99 = float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
socket_errors = sum(int(x) for x in sock.groups()) if sock else 0
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
non2xx = int(non2xx.group(1)) if non2xx else 0
lua = dict(kv.split("=") for kv in re.search(r"lua: (.*)", text).group(1).split())
lua = {k: int(v) for k, v in lua.items()}
rows = list(csv.DictReader(open(samples_file)))
bad_samples = [r for r in rows if r["status"] != "200" or r["complete"] != "yes"
               or r["promtool"] != "ok" or int(r["series"]) < int(baseline)]
series = [int(r["series"]) for r in rows]
print()
print(f"load: {total:,} responses in {seconds}s of wrk ({rps:,.1f} req/s, p99 {p99:.1f} ms), "
      f"{lua['gzipped']:,} of them gzip")
print(f"      socket errors {socket_errors}, non-2xx {non2xx}, Lua: non-200 {lua['bad_status']}, "
      f"incomplete {lua['incomplete']}")
print(f"faults: {polls} polls succeeded and {failed} failed during the load; "
      f"{retries} Graph retries and {statuses} non-200 Graph responses in total")
print(f"samples: {len(rows)} ({len(rows) // 2} per encoding), {len(bad_samples)} bad; series "
      f"{min(series):,}..{max(series):,} (baseline {int(baseline):,}); promtool check metrics on each")
problems = socket_errors + non2xx + lua["bad_status"] + lua["incomplete"] + len(bad_samples)
if lua["responses"] != total:
    print(f"Lua saw {lua['responses']} responses, wrk counted {total}")
    problems += 1
# Most faults are absorbed by retries (a poll fails only after max_retries); the retry
# counter shows they fired.
if int(retries) == 0:
    print("no Graph request was retried: the faults did not fire")
    problems += 1
if not rows:
    problems += 1
print("RESULT:", "PASS" if problems == 0 else f"FAIL ({problems} problems)")
sys.exit(1 if problems else 0)
PY
