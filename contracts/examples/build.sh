#!/bin/sh
# Builds the example merchant rules (`make rules`).
#
# AssemblyScript: the compiler is installed locally from
# contracts/sdk/assemblyscript/package-lock.json (npm ci, nothing global) when
# missing or older than the lockfile; each contracts/examples/assemblyscript/*.ts
# becomes NAME.wasm. Go: contracts/examples/go/NAME becomes NAME-go.wasm
# (GOOS=wasip1 reactor). Everything lands in $OUT (default bin/rules) and is
# copied to contracts/examples/wasm/, the committed copies that tests and
# `make build` use without npm. The SDK self-test rules go to
# contracts/examples/testdata/.
set -eu
cd "$(dirname "$0")/../.."
GO=${GO:-go}
OUT=${OUT:-bin/rules}
SDK=contracts/sdk/assemblyscript
EX=contracts/examples
ASC=$SDK/node_modules/assemblyscript/bin/asc.js
# The flags every AssemblyScript rule needs: no GC (stub runtime), no abort
# import, and top-level initialisation exported as _initialize (the ABI
# forbids a start section).
ASFLAGS="-O3 --runtime stub --noAssert --use abort= --exportStart _initialize"

if [ ! -f "$ASC" ] || [ "$SDK/package-lock.json" -nt "$SDK/node_modules/.package-lock.json" ]; then
	echo "npm ci in $SDK (AssemblyScript compiler, pinned by package-lock.json)"
	(cd "$SDK" && npm ci --no-audit --no-fund --loglevel=error)
fi

mkdir -p "$OUT" "$EX/wasm"
for src in "$EX"/assemblyscript/*.ts; do
	name=$(basename "$src" .ts)
	echo "asc $src -> $OUT/$name.wasm"
	node "$ASC" "$src" $ASFLAGS -o "$OUT/$name.wasm"
	cp "$OUT/$name.wasm" "$EX/wasm/$name.wasm"
done
for dir in "$EX"/go/*/; do
	name=$(basename "$dir")
	echo "go build ./$dir -> $OUT/$name-go.wasm"
	GOOS=wasip1 GOARCH=wasm "$GO" build -buildmode=c-shared -ldflags="-s -w" -trimpath -o "$OUT/$name-go.wasm" "./$dir"
	cp "$OUT/$name-go.wasm" "$EX/wasm/$name-go.wasm"
done
# The SDK self-test rules (not examples; used by contracts/examples/rules_test.go).
mkdir -p "$EX/testdata"
echo "asc $SDK/selftest/selftest.ts -> $EX/testdata/sdk-selftest.wasm"
node "$ASC" "$SDK/selftest/selftest.ts" $ASFLAGS -o "$EX/testdata/sdk-selftest.wasm"
echo "go build ./contracts/sdk/go/selftest -> $EX/testdata/sdk-selftest-go.wasm"
GOOS=wasip1 GOARCH=wasm "$GO" build -buildmode=c-shared -ldflags="-s -w" -trimpath -o "$EX/testdata/sdk-selftest-go.wasm" ./contracts/sdk/go/selftest
ls -l "$OUT"/*.wasm "$EX"/testdata/*.wasm
