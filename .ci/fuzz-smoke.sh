#!/usr/bin/env bash
# A short libFuzzer run of every cargo fuzz target: `bash .ci/fuzz-smoke.sh [SECONDS]`.
# Any crash fails it; the corpus grows in fuzz/corpus/<target> (not committed).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs="${1:-45}"
for target in $(cargo +nightly fuzz list); do
    # http_request's harness was seen spinning without end on some corpus input (found
    # 2026-12-02, not yet diagnosed: README "Fuzzing"); until it is fixed it runs by hand,
    # not here, so that a hang cannot stall CI.
    if [ "$target" = http_request ]; then
        echo "fuzz smoke: http_request skipped (known hang under investigation)"
        continue
    fi
    corpus="corpus/$target"
    mkdir -p "$corpus"
    seeds=()
    if [ -d "seeds/$target" ]; then
        seeds=("seeds/$target")
    fi
    echo "fuzz smoke: $target for ${secs}s"
    timeout "$((secs + 900))" cargo +nightly fuzz run -s none "$target" "$corpus" "${seeds[@]}" -- \
        -max_total_time="$secs" -timeout=10 -max_len=8192 -print_final_stats=1 2>&1 | tail -n 4
done
