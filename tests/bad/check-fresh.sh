#!/bin/sh
# check-fresh.sh MAKE-BAD CASES-DIR — regenerate the bad-input cases into a temporary
# directory and fail if any committed NAME.etl differs from what make-bad writes now (or one
# is missing on either side).  After a deliberate change: make-bad tests/bad/cases, then check
# the .expect files (tests/bad/README.md).
set -u
gen=$1
dir=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/etla-bad-fresh.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
"$gen" "$tmp" >/dev/null || exit 1
fails=0
for f in "$tmp"/*.etl; do
    n=$(basename "$f")
    if [ ! -f "$dir/$n" ]; then
        echo "FAIL: make-bad writes $n, which is not committed"
        fails=$((fails + 1))
    elif ! cmp -s "$f" "$dir/$n"; then
        echo "FAIL: $n differs from what make-bad writes now"
        fails=$((fails + 1))
    fi
done
for f in "$dir"/*.etl; do
    n=$(basename "$f")
    [ -f "$tmp/$n" ] || { echo "FAIL: $n is committed but make-bad no longer writes it"; fails=$((fails + 1)); }
done
echo "bad-input cases: $fails stale"
[ "$fails" = 0 ]
