#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/install-deps.sh
# swift-format's rules (.swift-format) on Sources/ and Tests/.
bash scripts/lint.sh
swift build --build-tests
# Every test target: CairnUnitTests (pure, in process), CairnIntegrationTests (real
# processes, the cairn executable, the GRDB example) and CairnStressTests (kills at random
# instants, random corruption; their quick versions: CAIRN_CRASH_TRIALS and
# CAIRN_CORRUPTION_TRIALS make them longer). One kind alone: --filter CairnUnitTests.
swift test --skip-build --parallel --num-workers 2 "$@"
# A short run of the libFuzzer target over every file parser (scripts/fuzz.sh SECONDS for longer).
mkdir -p .build-fuzz
if ! bash scripts/fuzz.sh "${CAIRN_FUZZ_SECONDS:-20}" > .build-fuzz/fuzz.log 2>&1; then
  tail -80 .build-fuzz/fuzz.log
  echo "fuzzing failed: see the output above (the crashing input is saved as crash-*)"
  exit 1
fi
grep -E "^(Done|stat::number_of_executed_units|stat::new_units_added)" .build-fuzz/fuzz.log
