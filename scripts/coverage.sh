#!/usr/bin/env bash
# Line coverage of the core library (CairnFormats, CairnCatalog, CairnEngines, Cairn) by the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/install-deps.sh
swift test --enable-code-coverage --parallel --num-workers 2 >/dev/null
bin=$(swift build --show-bin-path)
llvm_cov=$(dirname "$(command -v swift)")/llvm-cov
"$llvm_cov" report "$bin/CairnPackageTests.xctest" -instr-profile="$bin/codecov/default.profdata" \
  -ignore-filename-regex='(\.build|Tests)/' | tail -1 | awk '{print "library line coverage: " $(NF-3)}'
