#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for a bounded time; see docs/fuzzing.md.
#
#   scripts/fuzz.sh [seconds-per-target] [target...]
#
# Defaults: 20 seconds, every target (`cargo fuzz list`). Exits non-zero if any target
# crashed, hung or ran out of memory, after printing each reproducer's path.
#
# Environment:
#   FUZZ_SANITIZER  address (default) or none
#   FUZZ_JOBS       parallel fuzzing processes per target (default 1)
#
# Stable Rust is enough: cargo-fuzz passes nightly-only flags (-Zsanitizer=address), which
# stable rustc accepts under RUSTC_BOOTSTRAP=1; the stable toolchain ships the ASan runtime.
set -euo pipefail

seconds=${1:-20}
shift || true
if ! [[ $seconds =~ ^[0-9]+$ ]] || [ "$seconds" -eq 0 ]; then
    echo "usage: scripts/fuzz.sh [seconds-per-target] [target...]" >&2
    exit 2
fi
sanitizer=${FUZZ_SANITIZER:-address}
jobs=${FUZZ_JOBS:-1}

cd "$(dirname "$0")/../fuzz"
export RUSTC_BOOTSTRAP=1

export PATH="$HOME/.local/bin:$PATH"
../scripts/install-cargo-tools.sh fuzz

# Same flags for build and run, so `run` finds the build up to date. Debug assertions add
# overflow checks: an overflow on untrusted input is a bug even where release builds wrap.
flags=(--sanitizer "$sanitizer" --debug-assertions)

if [ $# -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi

started=$(date +%s)
echo "== building ${#targets[@]} targets (sanitizer: $sanitizer)"
cargo fuzz build "${flags[@]}"

# Seeds with private keys are made here, never committed: a fresh self-signed RSA certificate
# in each form the certificate loader reads, and inline TLS settings for the web config.
generated=target/generated
make_seeds() {
    command -v openssl >/dev/null || {
        echo "== openssl not found: certificate seeds with keys skipped"
        return 0
    }
    local dir=$generated/work
    rm -rf "$generated"
    mkdir -p "$dir" "$generated/certificate" "$generated/web_config_yaml"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$dir/key.pem" -out "$dir/cert.pem" \
        -days 3650 -subj /CN=entra-exporter-fuzz-seed 2>/dev/null
    openssl rsa -in "$dir/key.pem" -traditional -out "$dir/key.pkcs1.pem" 2>/dev/null
    openssl pkcs8 -topk8 -v2 aes-256-cbc -iter 16 -in "$dir/key.pem" -passout pass:fuzz \
        -out "$dir/key.enc.pem" 2>/dev/null
    openssl pkcs12 -export -in "$dir/cert.pem" -inkey "$dir/key.pem" -passout pass:fuzz \
        -iter 16 -out "$dir/bundle.p12" 2>/dev/null
    openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null |
        openssl pkcs8 -topk8 -nocrypt -out "$dir/ec.pem" 2>/dev/null
    # First byte: bit 0 set = the password `fuzz` is configured (see fuzzing::certificate).
    { printf '\0'; cat "$dir/cert.pem" "$dir/key.pem"; } >"$generated/certificate/pem-pkcs8"
    { printf '\0'; cat "$dir/key.pkcs1.pem" "$dir/cert.pem"; } >"$generated/certificate/pem-pkcs1"
    { printf '\1'; cat "$dir/cert.pem" "$dir/key.enc.pem"; } >"$generated/certificate/pem-encrypted"
    { printf '\1'; cat "$dir/bundle.p12"; } >"$generated/certificate/pkcs12"
    { printf '\0'; cat "$dir/cert.pem" "$dir/ec.pem"; } >"$generated/certificate/pem-not-rsa"
    indent() { sed 's/^/    /' "$1"; }
    {
        echo "tls_server_config:"
        echo "  cert: |"; indent "$dir/cert.pem"
        echo "  key: |"; indent "$dir/key.pem"
        echo "  client_auth_type: RequireAndVerifyClientCert"
        echo "  client_ca: |"; indent "$dir/cert.pem"
        echo "  min_version: TLS12"
    } >"$generated/web_config_yaml/tls-inline"
    rm -rf "$dir"
}
make_seeds

failed=()
for target in "${targets[@]}"; do
    echo "== $target: ${seconds}s"
    # The first directory collects what the fuzzer finds (kept in target/, not in git); the
    # committed seeds in corpus/ and the generated ones are only read.
    corpora=("target/corpus/$target" "corpus/$target")
    [ -d "$generated/$target" ] && corpora+=("$generated/$target")
    mkdir -p "${corpora[@]}" "artifacts/$target"
    marker=$(mktemp)
    set +e
    cargo fuzz run "${flags[@]}" --jobs "$jobs" "$target" "${corpora[@]}" -- \
        -max_total_time="$seconds" -timeout=30 -rss_limit_mb=2048 -print_final_stats=1 \
        2>&1 | tee "target/$target.log" |
        grep -E '^(stat::number_of_executed_units|stat::average_exec_per_sec|SUMMARY)|panicked|Test unit written|ERROR: libFuzzer'
    status=${PIPESTATUS[0]}
    set -e
    if [ "$status" -ne 0 ] || [ -n "$(find "artifacts/$target" -type f -newer "$marker")" ]; then
        failed+=("$target")
        echo "!! $target failed; full log: fuzz/target/$target.log"
        find "artifacts/$target" -type f -newer "$marker" | while read -r artifact; do
            echo "!! reproducer: fuzz/$artifact"
            echo "!!   replay:   cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run ${flags[*]} $target $artifact"
            echo "!!   minimise: cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz tmin ${flags[*]} $target $artifact"
        done
    fi
    rm -f "$marker"
done

echo "== ${#targets[@]} targets, ${seconds}s each, $(($(date +%s) - started))s in all"
if [ ${#failed[@]} -gt 0 ]; then
    echo "== FAILED: ${failed[*]}"
    exit 1
fi
echo "== no crashes"
