#!/usr/bin/env bash
# A short libFuzzer run of every cargo fuzz target: `bash .ci/fuzz-smoke.sh [SECONDS]`.
# Any crash fails it, and so does an input that runs past 10 s (-timeout: libFuzzer
# writes it to fuzz/artifacts/<target>/); the corpus grows in fuzz/corpus/<target> (not
# committed).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs="${1:-45}"
# Build every target first, unbounded: a cold build of the fuzz crate with sanitizers takes
# minutes on a busy 2-core machine, and must not eat into the runs' time bound below.
cargo +nightly fuzz build -s none
for target in $(cargo +nightly fuzz list); do
    corpus="corpus/$target"
    mkdir -p "$corpus"
    seeds=()
    if [ -d "seeds/$target" ]; then
        seeds=("seeds/$target")
    fi
    echo "fuzz smoke: $target for ${secs}s"
    timeout "$((secs + 300))" cargo +nightly fuzz run -s none "$target" "$corpus" "${seeds[@]}" -- \
        -max_total_time="$secs" -timeout=10 -max_len=8192 -print_final_stats=1 2>&1 | tail -n 4
done
