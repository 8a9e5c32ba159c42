#!/bin/sh
# run-bad.sh ETLA CASES-DIR — run etla on every bad-input case and check its NAME.expect.
#
# For each CASES-DIR/NAME.expect, runs on CASES-DIR/NAME.etl:
#     etla info NAME.etl                 (exit status, stderr)
#     etla info --format json NAME.etl   (same exit status; JSON values)
#     etla dump NAME.etl                 (must run to completion)
#     etla dump --format json NAME.etl
# and checks the directives of the .expect file, one per line ('#' starts a comment):
#     exit N              exit status of etla info (0: reading went on, 1: cannot be read)
#     dump-exit N         exit status of etla dump (default: the same as exit)
#     stderr TEXT         TEXT (a fixed string) appears on etla info's stderr
#     no-stderr TEXT      TEXT does not appear on etla info's stderr
#     stderr-lines N      etla info's stderr has exactly N lines
#     json "KEY": VALUE   a top-level line of the JSON output, exactly (e.g. json "events": 12)
#     kind NAME N         diagnostics_by_kind has NAME: N (e.g. kind event-marker 1)
#     dump-lines N        etla dump (text) prints N lines (header line + one per event)
# Checked for every case as well: exit 1 comes with exactly one line on stderr; every
# diagnostic line ("etla: warning: ...") names a file offset; no sanitizer report; every .etl
# has an .expect.  Then a few fixed checks of usage errors (exit 2) and unreadable paths.
# POSIX sh + grep only.
set -u
etla=$1
dir=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/etla-bad.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

fails=0
cases=0
name=
fail() {
    echo "FAIL ${name}: $*"
    fails=$((fails + 1))
}

lines() { # number of lines in a file
    wc -l <"$1" | tr -d ' '
}

# Checks common to every run of etla on a case.
common_checks() { # rc errfile what
    if grep -q -e 'runtime error' -e 'Sanitizer' -e 'LeakSanitizer' "$2"; then
        fail "$3: sanitizer report on stderr:"
        sed 's/^/    /' "$2" | head -40
    fi
    if [ "$1" = 1 ] && [ "$(lines "$2")" != 1 ]; then
        fail "$3 exited 1 with $(lines "$2") lines on stderr (want one clear line):"
        sed 's/^/    /' "$2" | head -10
    fi
    # every diagnostic names its offset (the "N more problems" summary line is not one)
    if grep '^etla: warning: ' "$2" | grep -v 'more problems not shown' | grep -v 'offset=0x' >"$tmp/nooff"; then
        fail "$3: diagnostic without a file offset:"
        sed 's/^/    /' "$tmp/nooff"
    fi
    if [ "$1" -gt 2 ]; then
        fail "$3 exited $1 (crash or signal?); stderr:"
        sed 's/^/    /' "$2" | head -40
    fi
}

for exp in "$dir"/*.expect; do
    [ -f "$exp" ] || continue
    name=$(basename "$exp" .expect)
    trace="$dir/$name.etl"
    if [ ! -f "$trace" ]; then
        fail "$name.expect has no $name.etl"
        continue
    fi
    cases=$((cases + 1))
    "$etla" info "$trace" >"$tmp/info.txt" 2>"$tmp/info.err"
    rc=$?
    "$etla" info --format json "$trace" >"$tmp/info.json" 2>"$tmp/json.err"
    rcj=$?
    "$etla" dump "$trace" >"$tmp/dump.txt" 2>"$tmp/dump.err"
    rcd=$?
    "$etla" dump --format json "$trace" >/dev/null 2>"$tmp/dumpj.err"
    rcdj=$?
    common_checks "$rc" "$tmp/info.err" "etla info"
    common_checks "$rcj" "$tmp/json.err" "etla info --format json"
    common_checks "$rcd" "$tmp/dump.err" "etla dump"
    common_checks "$rcdj" "$tmp/dumpj.err" "etla dump --format json"
    [ "$rcj" = "$rc" ] || fail "etla info --format json exited $rcj, etla info $rc"

    want_dump=
    want_exit=
    while IFS= read -r line || [ -n "$line" ]; do
        case $line in
        '' | '#'*) continue ;;
        esac
        key=${line%% *}
        val=${line#* }
        case $key in
        exit)
            want_exit=$val
            [ "$rc" = "$val" ] || fail "etla info exited $rc, expected $val"
            ;;
        dump-exit)
            want_dump=$val
            ;;
        stderr)
            grep -qF -- "$val" "$tmp/info.err" || fail "stderr lacks: $val"
            ;;
        no-stderr)
            if grep -qF -- "$val" "$tmp/info.err"; then fail "stderr has: $val"; fi
            ;;
        stderr-lines)
            [ "$(lines "$tmp/info.err")" = "$val" ] || fail "stderr has $(lines "$tmp/info.err") lines, expected $val"
            ;;
        json)
            grep -qxF -e "  $val" -e "  $val," "$tmp/info.json" || fail "JSON lacks top-level $val"
            ;;
        kind)
            k=${val%% *}
            n=${val#* }
            grep -qxF -e "    \"$k\": $n" -e "    \"$k\": $n," "$tmp/info.json" ||
                fail "diagnostics_by_kind lacks \"$k\": $n"
            ;;
        dump-lines)
            [ "$(lines "$tmp/dump.txt")" = "$val" ] || fail "etla dump printed $(lines "$tmp/dump.txt") lines, expected $val"
            ;;
        *)
            fail "unknown directive '$key' in $name.expect"
            ;;
        esac
    done <"$exp"
    [ -n "$want_exit" ] || fail "$name.expect has no exit line"
    [ -n "$want_dump" ] || want_dump=$want_exit
    [ "$rcd" = "$want_dump" ] || fail "etla dump exited $rcd, expected $want_dump"
    [ "$rcdj" = "$want_dump" ] || fail "etla dump --format json exited $rcdj, expected $want_dump"
    if [ "$fails" -gt 0 ] && [ -n "${VERBOSE:-}" ]; then
        echo "--- stderr of etla info $name.etl:"
        cat "$tmp/info.err"
    fi
done

name=corpus
for t in "$dir"/*.etl; do
    [ -f "${t%.etl}.expect" ] || fail "$(basename "$t") has no .expect"
done
[ "$cases" -gt 0 ] || fail "no cases in $dir"

# Usage errors exit 2; a path that cannot be read exits 1 with one line.
usage() { # name expected-rc args...
    name=$1
    want=$2
    shift 2
    "$etla" "$@" >"$tmp/u.out" 2>"$tmp/u.err"
    got=$?
    [ "$got" = "$want" ] || fail "etla $* exited $got, expected $want"
    common_checks "$got" "$tmp/u.err" "etla $*"
    [ -s "$tmp/u.err" ] || fail "etla $* printed nothing on stderr"
}
valid="$dir/valid-base.etl"
usage no-command 2
usage unknown-command 2 frobnicate "$valid"
usage info-no-trace 2 info
usage info-two-traces 2 info "$valid" "$valid"
usage info-bad-option 2 info --no-such-option "$valid"
usage info-bad-format 2 info --format xml "$valid"
usage info-bad-window 2 info --from 5 --to 1 "$valid"
usage dump-negative-limit 2 dump --limit -3 "$valid"
usage missing-file 1 info "$tmp/does-not-exist.etl"
grep -q 'cannot open' "$tmp/u.err" || fail "missing file: no 'cannot open' on stderr"
usage directory 1 info "$dir"
usage dump-missing-file 1 dump "$tmp/does-not-exist.etl"

echo "$cases bad-input cases, $fails failures"
[ "$fails" = 0 ]
