#!/usr/bin/env bash
# The release build, exactly as the container image runs it (Dockerfile, build stage) and as CI
# runs it before smoke-testing the binary: one script, so the image ships what was tested.
# Prints the path of the binary as its last line of stdout.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --locked --bin entra-exporter
target_dir=${CARGO_TARGET_DIR:-target}
case "$target_dir" in /*) ;; *) target_dir="$PWD/$target_dir" ;; esac
echo "${target_dir}/release/entra-exporter"
