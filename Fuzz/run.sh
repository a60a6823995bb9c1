#!/usr/bin/env bash
# Builds and runs the libFuzzer targets (see docs/reliability.md).
#
#   Fuzz/run.sh build                      build both targets (release, -sanitize=fuzzer,address)
#   Fuzz/run.sh parser [seconds] [args]    fuzz the request parser (default 60 s)
#   Fuzz/run.sh connection [seconds] [args] fuzz the connection state machine
#   Fuzz/run.sh smoke [seconds]            build, replay the regressions, run each target briefly
#   Fuzz/run.sh regressions                replay Fuzz/regressions/* (past crashes) only
#
# Corpora grow in Fuzz/corpus/<Target> (seeded from Tests/Fixtures/conformance-requests.json by
# make-corpus.py; not committed); crashes land in Fuzz/artifacts/<Target>. Long runs: prefix with
# `nice -n 19`. Extra arguments go to libFuzzer (e.g. -jobs=2 -workers=2, -max_total_time=1800).
set -euo pipefail
cd "$(dirname "$0")"
here=$(pwd)

# The Swift runtime's backtracer fights ASan's and libFuzzer's own crash reporting.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}

flags=(-c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -g)
bin() { echo "$here/.build/release/$1"; }

build() {
    echo "== building fuzz targets"
    # SwiftPM does not notice files added to the root package (a path dependency) unless it plans
    # the build again.
    rm -f .build/release/description.json
    # ld.gold warns once per ASan symbol it cannot export: noise.
    if ! swift build "${flags[@]}" > /tmp/fuzz-build.log 2>&1; then
        grep -v "Cannot export local symbol" /tmp/fuzz-build.log | tail -40
        return 1
    fi
    grep -v "Cannot export local symbol" /tmp/fuzz-build.log | tail -1
}

target_name() {
    case "$1" in
        parser) echo FuzzParser ;;
        connection) echo FuzzConnection ;;
        *) echo "unknown target $1 (parser, connection)" >&2; exit 2 ;;
    esac
}

seed() {
    if [ ! -d "corpus/FuzzParser" ] || [ ! -d "corpus/FuzzConnection" ]; then
        python3 make-corpus.py corpus
    fi
}

regressions() {
    local status=0
    for target in FuzzParser FuzzConnection; do
        if compgen -G "regressions/$target/*" > /dev/null; then
            echo "== replaying regressions/$target"
            "$(bin $target)" regressions/$target/* > "/tmp/fuzz-regressions-$target.log" 2>&1 || {
                status=1; tail -40 "/tmp/fuzz-regressions-$target.log"; }
        fi
    done
    return $status
}

fuzz() {
    local target seconds
    target=$(target_name "$1"); seconds=${2:-60}; shift 2 || shift $#
    mkdir -p "artifacts/$target" "corpus/$target"
    echo "== fuzzing $target for ${seconds}s"
    "$(bin $target)" "corpus/$target" -max_total_time="$seconds" -max_len=8192 -timeout=20 \
        -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="artifacts/$target/" "$@"
}

command=${1:-smoke}; shift || true
case "$command" in
    build) build ;;
    parser|connection) [ -x "$(bin "$(target_name "$command")")" ] || build; seed; fuzz "$command" "$@" ;;
    regressions) regressions ;;
    smoke)
        seconds=${1:-20}
        build
        seed
        regressions
        for t in parser connection; do
            fuzz $t "$seconds" > "/tmp/fuzz-smoke-$t.log" 2>&1 || { tail -60 "/tmp/fuzz-smoke-$t.log"; exit 1; }
            grep -E "^stat::number_of_executed_units|^#[0-9]+ *DONE" "/tmp/fuzz-smoke-$t.log" | tail -2
        done
        ;;
    *) sed -n 2,13p "$0"; exit 2 ;;
esac
