#!/usr/bin/env bash
# Checks the Prometheus rules of entra-exporter, on a machine that may be fresh:
#   1. prometheus/rules/entra-exporter.rules.yaml is exactly what monitoring/settings.yaml renders
#      to, and docs/runbook.md has a section per alert (monitoring/generate_rules.py --check);
#   2. promtool check rules;
#   3. promtool test rules on prometheus/tests/*.test.yaml (every alert, firing and not firing).
# Installs promtool (Debian package `prometheus`) and PyYAML (pinned in requirements.txt) when
# missing. Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/../.."

step() { printf '\n==> %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_install() {
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

step "installing what is missing"
command -v promtool >/dev/null 2>&1 || apt_install prometheus
if ! python3 -c 'import yaml' 2>/dev/null; then
  pin=$(grep -i '^pyyaml==' scripts/monitoring/requirements.txt)
  python3 -m pip --version >/dev/null 2>&1 || apt_install python3-pip
  # Debian's own Python refuses plain `pip install` (PEP 668); this is a throw-away CI machine.
  python3 -m pip install --quiet "$pin" 2>/dev/null \
    || python3 -m pip install --quiet --break-system-packages "$pin"
fi
promtool --version 2>&1 | head -n 1
python3 -c 'import yaml; print("PyYAML", yaml.__version__)'

step "rules file matches monitoring/settings.yaml"
python3 monitoring/generate_rules.py --check

step "promtool check rules"
promtool check rules prometheus/rules/*.yaml

step "promtool test rules"
promtool test rules prometheus/tests/*.test.yaml

printf '\nrules: all checks passed\n'
