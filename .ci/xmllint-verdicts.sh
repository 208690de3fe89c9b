#!/usr/bin/env bash
# Re-derives tests/it/xmllint-verdicts.tsv: xmllint's verdict on every document of the
# metadata differential tests, which `cargo test` compares tinydoi against without
# needing xmllint. `--check` writes to a temp file instead and fails when the
# checked-in file differs (CI runs that, so the recorded verdicts never go stale).
set -euo pipefail
cd "$(dirname "$0")/.."

command -v xmllint >/dev/null || { echo "xmllint not found: apt-get install libxml2-utils" >&2; exit 1; }

file=tests/it/xmllint-verdicts.tsv
out=$PWD/$file
if [ "${1:-}" = "--check" ]; then
    out=$(mktemp)
    trap 'rm -f "$out"' EXIT
fi
TINYDOI_XMLLINT_VERDICTS="$out" \
    cargo test --quiet --test it -- --ignored --exact xmllint::record_xmllint_verdicts --nocapture
[ "${1:-}" = "--check" ] || exit 0
if ! cmp -s "$file" "$out"; then
    diff -u "$file" "$out" | head -40 || true
    echo "$file is stale: run 'bash .ci/xmllint-verdicts.sh' and commit it" >&2
    exit 1
fi
echo "$file is up to date"
