#!/usr/bin/env bash
# Lints Sources/ and Tests/ with the toolchain's swift-format and the repository's .swift-format:
#
#   bash scripts/lint.sh             exit 1 on any rule or whitespace finding
#   bash scripts/lint.sh --verbose   also print the layout findings that are only counted
#   CAIRN_LINT_LAYOUT=1 bash scripts/lint.sh   enforce the layout findings too
#
# swift-format has two kinds of findings. Its rules (naming, `///` comments, force
# unwraps, ...) are turned on and off in .swift-format; the ones the code does not follow are
# off there, so every enabled rule must pass. Its pretty printer also reports where
# `swift format` would lay the code out differently, and swift-format 6.3 has no setting to
# turn those categories off (swiftlang/swift-format issues 764 and 964). Cairn's code aligns
# continuation lines under the opening parenthesis, keeps `guard ... else {` on the last
# condition's line, has long string literals and mixed trailing commas, which the printer
# would all change. Rather than reformat the code, this script counts those layout
# categories (LAYOUT below) and fails only on the others, which include trailing whitespace.
# The last line printed is a one-line summary.
set -uo pipefail
cd "$(dirname "$0")/.."

LAYOUT="Indentation AddLines RemoveLine Spacing TrailingComma LineLength"
verbose=0
[ "${1:-}" = "--verbose" ] && verbose=1
[ "${CAIRN_LINT_LAYOUT:-0}" = "1" ] && LAYOUT=""

if ! swift format --version >/dev/null 2>&1; then
    echo "lint: FAILED: 'swift format' is not available (it comes with Swift 6 toolchains)" >&2
    exit 2
fi

out=$(mktemp)
trap 'rm -f "$out"' EXIT
swift format lint --recursive --strict --parallel Sources Tests >"$out" 2>&1
status=$?
files=$(find Sources Tests -name '*.swift' | wc -l)

finding='^[^:]+:[0-9]+:[0-9]+: (warning|error): \[([A-Za-z]+)\]'
enforced=0
layout=0
declare -A byCategory=()
other=()
while IFS= read -r line; do
    if [[ $line =~ $finding ]]; then
        category=${BASH_REMATCH[2]}
        if [[ " $LAYOUT " == *" $category "* ]]; then
            layout=$((layout + 1))
            byCategory[$category]=$(( ${byCategory[$category]:-0} + 1 ))
            [ $verbose = 1 ] && echo "$line"
        else
            enforced=$((enforced + 1))
            echo "$line"
        fi
    elif [ -n "$line" ]; then
        other+=("$line")
    fi
done <"$out"

# Anything that is not a finding (an unparsable file, a bad .swift-format) fails the lint,
# and so does a nonzero exit that no finding explains.
if [ ${#other[@]} -gt 0 ] || { [ $status -ne 0 ] && [ $((enforced + layout)) -eq 0 ]; }; then
    printf '%s\n' "${other[@]}" >&2
    echo "lint: FAILED: swift format could not lint every file (exit status $status; see above)" >&2
    exit 2
fi

counts=""
for category in $LAYOUT; do
    [ -n "${byCategory[$category]:-}" ] && counts+="${counts:+, }$category ${byCategory[$category]}"
done
note=""
[ -n "$LAYOUT" ] && note="; $layout layout findings counted, not enforced${counts:+ ($counts)}"
if [ $enforced -gt 0 ]; then
    echo "lint: FAILED: $enforced finding(s) in $files Swift files$note"
    exit 1
fi
echo "lint: passed: 0 findings in $files Swift files$note"
