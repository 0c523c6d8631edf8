#!/usr/bin/env bash
# Every check of the deployment artefacts (Dockerfile, helm/entra-exporter), on a machine that
# may be fresh and has no Docker engine and no helm binary:
#   1. hadolint on the Dockerfile, no finding of any level;
#   2. the chart's copies of the dashboards and rules are current (chart_assets.py --check), and
#      its README lists every value (chart_readme.py --check);
#   3. the release build the image runs (scripts/build-release.sh), then a smoke test of that
#      binary as the image runs it: --demo on loopback, /healthz, /readyz, /metrics;
#   4. check_chart.py: helm lint, render of every ci/*-values.yaml with Helm's Go SDK,
#      kubernetes-validate on every manifest, assertions (dashboards, rules, the rendered config
#      through the binary's --config.check), and bad values that must fail.
# Installs what is missing first (the pinned Python packages of requirements.txt, openssl, curl).
#   --no-release-build  use $ENTRA_EXPORTER_BIN, or a debug build, instead of step 3 (faster
#                       locally; CI runs the release build)
set -uo pipefail
cd "$(dirname "$0")/../.."

release_build=1
for arg in "$@"; do
  case "$arg" in
    --no-release-build) release_build= ;;
    *) echo "usage: $0 [--no-release-build]" >&2; exit 2 ;;
  esac
done

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
command -v openssl >/dev/null 2>&1 || packages+=(openssl)
command -v curl >/dev/null 2>&1 || packages+=(curl)
python3 -m pip --version >/dev/null 2>&1 || packages+=(python3-pip)
if [ ${#packages[@]} -gt 0 ]; then apt_install "${packages[@]}" || exit 1; fi
requirements=scripts/deploy/requirements.txt
if ! python3 - "$requirements" <<'EOF'
import sys
from importlib.metadata import PackageNotFoundError, version
pins = [l.split("#")[0].strip() for l in open(sys.argv[1])]
missing = []
for pin in filter(None, pins):
    name, want = pin.split("==")
    try:
        if version(name) != want:
            missing.append(pin)
    except PackageNotFoundError:
        missing.append(pin)
sys.exit(1 if missing else 0)
EOF
then
  # Debian's own Python refuses plain `pip install` (PEP 668); this is a throw-away CI machine.
  python3 -m pip install --quiet --disable-pip-version-check -r "$requirements" 2>/dev/null \
    || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages -r "$requirements" \
    || exit 1
fi
hadolint --version

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

# The release binary as the image would run it: the demo on loopback, probed like Kubernetes.
smoke_test() {
  local bin=$1 port log pid code
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  log=target/deploy-smoke.log
  "$bin" --version || return 1
  "$bin" --demo --web.listen-address "127.0.0.1:${port}" >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 1 120); do
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${port}/readyz" || true)
    [ "$code" = 200 ] && break
    kill -0 "$pid" 2>/dev/null || { cat "$log"; echo "the exporter exited early"; return 1; }
    sleep 0.5
  done
  local ok=1
  [ "$code" = 200 ] || { echo "/readyz answered ${code}, not 200, after 60 s"; ok=; }
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${port}/healthz")" = 200 ] \
    || { echo "/healthz is not 200"; ok=; }
  curl -fsS "http://127.0.0.1:${port}/metrics" >target/deploy-smoke-metrics.txt || ok=
  grep -q '^entra_collector_up{tenant="demo",collector="credentials"} 1$' target/deploy-smoke-metrics.txt \
    || { echo "/metrics: the demo's credentials collector is not up"; ok=; }
  kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
  if [ -z "$ok" ]; then cat "$log"; return 1; fi
  echo "release binary serves /healthz, /readyz and $(grep -c '^entra_' target/deploy-smoke-metrics.txt) entra_ series on /metrics"
}

run "hadolint Dockerfile" hadolint --failure-threshold style Dockerfile
run "chart copies of dashboards and rules are current" python3 scripts/deploy/chart_assets.py --check
run "chart README lists every value" python3 scripts/deploy/chart_readme.py --check

bin=
if [ -n "$release_build" ]; then
  step "release build (scripts/build-release.sh, as the Dockerfile runs it)"
  t0=$(date +%s)
  if out=$(bash scripts/build-release.sh); then
    bin=$(printf '%s\n' "$out" | tail -n 1)
    printf -- '--- release build: ok (%s s): %s\n' "$(($(date +%s) - t0))" "$bin"
    run "smoke test of the release binary" smoke_test "$bin"
  else
    printf -- '--- release build: FAILED (%s s)\n' "$(($(date +%s) - t0))"
    failed+=("release build")
  fi
else
  bin=${ENTRA_EXPORTER_BIN:-}
  if [ -z "$bin" ]; then
    cargo build --quiet --bin entra-exporter && bin=target/debug/entra-exporter
  fi
fi

if [ -n "$bin" ]; then
  run "chart: lint, render, validate, assert, bad values" python3 scripts/deploy/check_chart.py --exporter "$bin"
else
  failed+=("chart (no exporter binary to run --config.check)")
fi

printf '\ndeployment checks took %s s\n' "$(($(date +%s) - started))"
if [ ${#failed[@]} -gt 0 ]; then
  printf 'FAILED: %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "deployment: all checks passed"
