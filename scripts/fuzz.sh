#!/usr/bin/env bash
# Builds the libFuzzer target over every Cairn file parser and runs it.
#   scripts/fuzz.sh [SECONDS]     default 60; CI runs a short run
# libFuzzer prints its seed ("INFO: Seed: N"); CAIRN_SEED=N replays a run.
# The seed corpus (Fuzz/corpus) holds one valid file of each format, made by scripts/fuzz.sh --seed.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/install-deps.sh
seconds=${1:-60}
scratch=.build-fuzz
swift build --scratch-path "$scratch" --target CairnEngines -Xswiftc -sanitize=fuzzer >/dev/null
dbg="$scratch/debug"
# The objects of today's sources only (a scratch path kept between runs also holds the objects
# of files since renamed or removed).
objs=$(for t in CairnFormats CairnCatalog CairnEngines; do
  find "Sources/$t" -name '*.swift' -printf "$dbg/$t.build/%f.o\n"
done; ls "$dbg"/Logging.build/*.o "$dbg"/CSQLiteShim.build/*.o "$dbg"/CSystemShim.build/*.o "$dbg"/CPageDelta.build/*.o
# swift-crypto (CairnFormats' encryption), its Swift modules and BoringSSL.
for t in Crypto CryptoBoringWrapper CCryptoBoringSSL CCryptoBoringSSLShims; do
  [ -d "$dbg/$t.build" ] && find "$dbg/$t.build" -name '*.o'
done)
swiftc -sanitize=fuzzer -parse-as-library -g Fuzz/CairnFuzz.swift $objs -I "$dbg/Modules" \
  -Xcc -fmodule-map-file=Sources/CSQLite/module.modulemap -Xcc -fmodule-map-file=Sources/CZstd/module.modulemap \
  -Xcc -fmodule-map-file=Sources/CXXHash/module.modulemap \
  -Xcc -fmodule-map-file="$dbg/CSQLiteShim.build/module.modulemap" -Xcc -I -Xcc Sources/CSQLiteShim/include \
  -Xcc -fmodule-map-file="$dbg/CSystemShim.build/module.modulemap" -Xcc -I -Xcc Sources/CSystemShim/include \
  -Xcc -fmodule-map-file="$dbg/CPageDelta.build/module.modulemap" -Xcc -I -Xcc Sources/CPageDelta/include \
  -lsqlite3 -lzstd -lxxhash -o "$scratch/cairn-fuzz"
mkdir -p "$scratch/corpus"
cp Fuzz/corpus/* "$scratch/corpus/" 2>/dev/null || true
SWIFT_BACKTRACE=enable=no "$scratch/cairn-fuzz" -artifact_prefix="$scratch/" -max_total_time="$seconds" -max_len=65536 -print_final_stats=1 ${CAIRN_SEED:+-seed="$CAIRN_SEED"} "$scratch/corpus"
