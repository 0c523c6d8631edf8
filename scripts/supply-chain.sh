#!/usr/bin/env bash
# Supply-chain checks on Cargo.lock and the dependency graph (see docs/security.md):
#   cargo deny check licenses bans sources   always; must pass (policy in deny.toml)
#   cargo deny check advisories, cargo audit need the RustSec advisory database, which is
#                                            fetched from its git host
# Where that host cannot be reached, the advisory checks are reported as NOT RUN and do not
# fail the build, unless REQUIRE_ADVISORIES=1. A reachable database with a matching advisory
# always fails.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.local/bin:$PATH"

./scripts/install-cargo-tools.sh deny audit

echo "== cargo deny check licenses bans sources"
# Duplicate versions are warnings (deny.toml says why); only their number is shown here.
duplicates=$(cargo deny --workspace check bans 2>&1 | grep -c '^warning\[duplicate\]' || true)
echo "duplicate crate versions (warnings): $duplicates"
cargo deny --workspace --log-level error check licenses bans sources

echo "== advisory database"
if cargo deny --workspace fetch db >/tmp/deny-fetch.log 2>&1; then
  echo "== cargo deny check advisories"
  cargo deny --workspace check advisories
  echo "== cargo audit"
  # cargo audit keeps its own clone of the same database and fetches it itself.
  cargo audit --deny warnings --file Cargo.lock
else
  echo "!! the RustSec advisory database could not be fetched:"
  sed 's/^/!!   /' /tmp/deny-fetch.log | tail -n 3
  echo "!! advisories NOT CHECKED: cargo deny check advisories and cargo audit did not run."
  if [ "${REQUIRE_ADVISORIES:-0}" = 1 ]; then
    exit 1
  fi
fi
echo "== supply chain: ok"
