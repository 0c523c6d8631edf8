#!/usr/bin/env bash
# Every check CI runs, in order, on a machine that may be fresh: it installs what it needs.
#   1. cargo fmt --check   2. cargo clippy -D warnings   3. all tests
#   4. promtool check metrics on the demo's /metrics
#   5. monitoring: dashboards, rules, alert delivery (scripts/monitoring/check.sh)
#   6. deployment: Dockerfile, release build, Helm chart (scripts/deploy/check.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

step "installing tools that are missing"
apt_packages=()
command -v promtool >/dev/null 2>&1 || apt_packages+=(prometheus)
command -v curl >/dev/null 2>&1 || apt_packages+=(curl)
if [ ${#apt_packages[@]} -gt 0 ]; then
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${apt_packages[@]}"
fi
if command -v rustup >/dev/null 2>&1; then
  rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt
  rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy
fi
command -v cargo-nextest >/dev/null 2>&1 || cargo install cargo-nextest --locked
promtool --version | head -n 1

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

step "tests"
cargo nextest run --workspace --no-fail-fast

step "promtool check metrics on the demo's output"
cargo build --bin entra-exporter
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
log=target/demo.log
target/debug/entra-exporter --demo --web.listen-address "127.0.0.1:${port}" >"$log" 2>&1 &
demo=$!
trap 'kill "$demo" 2>/dev/null || true' EXIT
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
