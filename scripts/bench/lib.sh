# Shared by every script in scripts/bench/: build, start the Graph simulator and the exporter
# on loopback ports chosen by the kernel, wait for them, and stop them on exit.
# Sourced, not run; the caller sets `set -euo pipefail`.

# The repository root, whatever the caller's working directory.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# Demo credentials of the simulator (graph-sim/src/config.rs). They open nothing but the
# simulator; still, they go into a file, never onto a command line or into a log.
SIM_TENANT_ID="7f3c2a10-5b4e-4c1d-9e8f-0a1b2c3d4e5f"
SIM_CLIENT_ID="5d3b1e0f-6a2c-4e8b-9f71-3c4d5e6f7a8b"
SIM_CLIENT_SECRET="sim~demo-secret-value"

# PIDs to stop on exit, in reverse order of start.
BENCH_PIDS=()

die() {
    echo "error: $*" >&2
    exit 1
}

log() {
    echo "[$(date +%H:%M:%S)] $*" >&2
}

# SIGINT to $1 (graph-sim waits for Ctrl-C), SIGKILL if it has not exited after 5 s; reaps it.
terminate() {
    local pid="$1"
    kill -INT "$pid" 2>/dev/null || true
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# Stops everything this script started, newest first. SIGINT goes to all of them before any
# is waited for, so they shut down side by side.
bench_cleanup() {
    local i
    for ((i = ${#BENCH_PIDS[@]} - 1; i >= 0; i--)); do
        kill -INT "${BENCH_PIDS[$i]}" 2>/dev/null || true
    done
    for ((i = ${#BENCH_PIDS[@]} - 1; i >= 0; i--)); do
        terminate "${BENCH_PIDS[$i]}"
    done
    BENCH_PIDS=()
}

# Stops one process started here and forgets it.
stop_pid() {
    local pid="$1" kept=() p
    terminate "$pid"
    for p in "${BENCH_PIDS[@]}"; do
        [[ "$p" == "$pid" ]] || kept+=("$p")
    done
    BENCH_PIDS=("${kept[@]}")
}

# The release binaries, unless EXPORTER_BIN / SIM_BIN name others.
EXPORTER_BIN="${EXPORTER_BIN:-$ROOT/target/release/entra-exporter}"
SIM_BIN="${SIM_BIN:-$ROOT/target/release/graph-sim}"

# Builds both release binaries, unless SKIP_BUILD=1 (or the script's --no-build) says to use
# them as they are.
build_release() {
    [[ "${SKIP_BUILD:-0}" == 1 ]] && return 0
    log "building release"
    (cd "$ROOT" && cargo build --release -q -p entra-exporter -p graph-sim)
}

# Installs the Debian package $2 when command $1 is missing (apt-get update once per run).
APT_UPDATED=0
need() {
    local cmd="$1" package="$2"
    command -v "$cmd" >/dev/null 2>&1 && return 0
    command -v apt-get >/dev/null 2>&1 || die "$cmd is missing; install the Debian package $package"
    log "installing $package for $cmd"
    local sudo=()
    [[ "$(id -u)" == 0 ]] || sudo=(sudo)
    if [[ "$APT_UPDATED" == 0 ]]; then
        "${sudo[@]}" apt-get update -qq || die "apt-get update failed; install $package by hand"
        APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "$package" >/dev/null ||
        die "cannot install $package; install it by hand"
    command -v "$cmd" >/dev/null 2>&1 || die "$package is installed but $cmd is still missing"
}

# The start of a script that measures in a temporary directory: installs curl and python3 if
# missing, builds release unless its argument $1 is --no-build (or SKIP_BUILD=1), and sets
# WORK to a directory that goes, with every process started here, when the script exits.
bench_init() {
    need curl curl
    need python3 python3
    if [[ ${1:-} == --no-build ]]; then SKIP_BUILD=1; fi
    build_release
    WORK=$(mktemp -d)
    trap 'bench_cleanup; rm -rf "$WORK"' EXIT
    trap 'exit 130' INT TERM
}

# A TCP port on 127.0.0.1 that the kernel just handed out (bound to port 0, then released).
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits up to $2 seconds for URL $1 to answer 200.
wait_http() {
    local url="$1" timeout="$2" deadline=$((SECONDS + $2))
    until curl -fsS -o /dev/null "$url" 2>/dev/null; do
        ((SECONDS < deadline)) || die "$url did not answer 200 within ${timeout}s"
        sleep 0.2
    done
}

# Starts graph-sim on a free loopback port with the given flags; sets SIM_PID and SIM_URL.
# Logs go to $1.
start_sim() {
    local logfile="$1"
    shift
    [[ -x "$SIM_BIN" ]] || die "no simulator at $SIM_BIN; build it with cargo build -p graph-sim"
    "$SIM_BIN" --listen 127.0.0.1:0 "$@" >"$logfile" 2>&1 &
    SIM_PID=$!
    BENCH_PIDS+=("$SIM_PID")
    # A large tenant (1,000,000 users) is generated before the simulator listens.
    local deadline=$((SECONDS + 300))
    SIM_URL=""
    while [[ -z "$SIM_URL" ]]; do
        kill -0 "$SIM_PID" 2>/dev/null || die "graph-sim exited; see $logfile"
        ((SECONDS < deadline)) || die "graph-sim did not start within 300s; see $logfile"
        sleep 0.2
        # The startup line carries base_url=http://127.0.0.1:PORT (ANSI colours stripped).
        SIM_URL="$(sed 's/\x1b\[[0-9;]*m//g' "$logfile" | grep -o 'base_url=[^ ]*' | head -1 | cut -d= -f2 | tr -d '"' || true)"
    done
}

# Prints the `tenants:` section for the simulator at $2, with the demo secret written to a
# file in directory $1 (mode 600) rather than into the config.
tenant_yaml() {
    local dir="$1" url="$2"
    (umask 077 && printf '%s' "$SIM_CLIENT_SECRET" >"$dir/client-secret")
    cat <<YAML
tenants:
  - name: bench
    tenant_id: $SIM_TENANT_ID
    client_id: $SIM_CLIENT_ID
    auth:
      client_secret_file: $dir/client-secret
    authority_host: $url/
    graph_base_url: $url/
YAML
}

# Writes an exporter config for the simulator at $2 to $1. $3 is the interval of every
# collector; $4 (optional) overrides it for the three collectors that page through every
# application and service principal, the bulk of the series.
write_config() {
    local file="$1" url="$2" interval="$3" big="${4:-$3}"
    {
        cat <<YAML
graph:
  timeout: 10s
  max_backoff: 2s
  max_retry_after: 5s
YAML
        tenant_yaml "$(dirname "$file")" "$url"
        cat <<YAML
collectors:
  credentials: {interval: $big}
  service_principal_sign_ins: {interval: $big}
  app_credential_sign_ins: {interval: $big}
  user_insights: {interval: $interval}
  application_sign_in_summary: {interval: $interval}
  adfs_relying_parties: {interval: $interval}
  auth_methods_registration: {interval: $interval}
  sign_ins: {interval: $interval}
  directory_audits: {interval: $interval}
  provisioning: {interval: $interval}
  auth_methods_usage: {interval: $interval}
YAML
    } >"$file"
}

# Starts the exporter with config $1 on a free loopback port, logging to $2; sets EXP_PID
# and EXP_URL. Waits until it serves /metrics.
start_exporter() {
    launch_exporter "$2" --config.file "$1"
}

# Starts the exporter with arguments $2... on a free loopback port, logging to $1; sets EXP_PID
# and EXP_URL. Waits until it answers /healthz.
launch_exporter() {
    local logfile="$1" port
    shift
    [[ -x "$EXPORTER_BIN" ]] || die "no exporter at $EXPORTER_BIN; build it with cargo build"
    port="$(free_port)"
    "$EXPORTER_BIN" "$@" --web.listen-address "127.0.0.1:$port" >"$logfile" 2>&1 &
    EXP_PID=$!
    BENCH_PIDS+=("$EXP_PID")
    EXP_URL="http://127.0.0.1:$port"
    wait_http "$EXP_URL/healthz" 60
}

# Waits up to $2 seconds until every collector of the exporter at $1 finished a poll.
wait_ready() {
    local url="$1" timeout="$2" deadline=$((SECONDS + $2))
    until curl -fsS -o /dev/null "$url/readyz" 2>/dev/null; do
        ((SECONDS < deadline)) || die "$url/readyz not ready within ${timeout}s"
        kill -0 "$EXP_PID" 2>/dev/null || die "the exporter exited"
        sleep 0.5
    done
}

# Number of samples (non-comment lines) on stdin.
count_series() {
    grep -vc '^#' || true
}
