#!/usr/bin/env bash
# Builds and runs the libFuzzer targets (see docs/reliability.md).
#
#   Fuzz/run.sh build                      build the targets (release, -sanitize=fuzzer,address)
#   Fuzz/run.sh parser [seconds] [args]    fuzz the request parser (default 60 s)
#   Fuzz/run.sh connection [seconds] [args] fuzz the connection state machine
#   Fuzz/run.sh differential [seconds] [args] compare the parser's framing with llhttp's (strict)
#   Fuzz/run.sh smoke [seconds]            build, replay the regressions, run each target briefly
#   Fuzz/run.sh regressions                replay Fuzz/regressions/* (past crashes) only
#   Fuzz/run.sh minimize <target>          merge Fuzz/corpus/<Target> into Fuzz/corpora/<Target>
#   Fuzz/run.sh volume build               build parser and connection without ASan (.build-volume)
#   Fuzz/run.sh volume parser|connection [seconds] [args]   fuzz with that build
#
# The default build is ASan's, and the smoke (CI) uses it. The volume build (`-sanitize=fuzzer`
# only, in its own scratch path, Fuzz/.build-volume, ignored by git) is for long runs: it takes
# 2.2 (parser) to 2.4 (connection) times less CPU per input, the cost of ASan's allocator (redzones,
# quarantine, filling each allocation) and of its checks on every load and store. What it gives up:
# Swift's own checks stay (release builds keep array bounds, integer overflow, force-unwrap and,
# except where `@exclusivity(unchecked)` turns them off, exclusivity checks, and they trap), and in
# safe code they already exclude most memory errors; but a read past an Unsafe*BufferPointer
# (unchecked in release), a use-after-free through `unowned(unsafe)` or `Unmanaged`, and leaks
# (LeakSanitizer comes with ASan) go unseen. The parser and the core use such pointers: ASan runs
# (the smoke, and minutes of each target per round) still cover them, and an input a volume run
# saves is replayed under ASan to be diagnosed.
#
# The committed, minimized corpora are Fuzz/corpora/<Target>; a run works in Fuzz/corpus/<Target>
# (seeded from corpora/, or from Tests/Fixtures/conformance-requests.json by make-corpus.py; not
# committed); crashes land in Fuzz/artifacts/<Target>. Long runs: prefix with `nice -n 19`. Extra
# arguments go to libFuzzer (e.g. -jobs=2 -workers=2, -max_total_time=1800).
#
# llhttp (for the differential target) comes from Debian's node-llhttp package, installed with apt
# when missing; its C sources are copied into Sources/CLLHTTP/llhttp/ (ignored, never committed).
set -euo pipefail
cd "$(dirname "$0")"
here=$(pwd)

# The Swift runtime's backtracer fights ASan's and libFuzzer's own crash reporting.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}

flags=(-c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -g)
scratch=.build
bin() { echo "$here/$scratch/release/$1"; }

# The volume build: no ASan. The differential target is left out: llhttp's C flags in Package.swift
# ask for ASan.
volume_flags=(-c release -Xswiftc -sanitize=fuzzer -Xswiftc -parse-as-library -Xswiftc -g
              --scratch-path .build-volume)
build_volume() {
    echo "== building fuzz targets without ASan (.build-volume)"
    rm -f .build-volume/release/description.json
    local product
    for product in FuzzParser FuzzConnection; do
        if ! swift build "${volume_flags[@]}" --product "$product" > /tmp/fuzz-build-volume.log 2>&1; then
            tail -40 /tmp/fuzz-build-volume.log
            return 1
        fi
    done
    tail -1 /tmp/fuzz-build-volume.log
}

llhttp() {
    local dir=Sources/CLLHTTP/llhttp header
    if [ ! -f /usr/share/llhttp/llhttp.c ]; then
        echo "== installing node-llhttp (llhttp's C sources)"
        if [ "$(id -u)" = 0 ]; then apt-get install -y node-llhttp > /tmp/fuzz-apt.log 2>&1 \
            || { apt-get update > /dev/null 2>&1; apt-get install -y node-llhttp > /tmp/fuzz-apt.log 2>&1; }
        else sudo apt-get install -y node-llhttp > /tmp/fuzz-apt.log 2>&1; fi
    fi
    header=$(dpkg -L node-llhttp | grep '/llhttp\.h$' | head -1)
    mkdir -p "$dir"
    cp /usr/share/llhttp/*.c "$header" "$dir/"
}

build() {
    llhttp
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
        differential) echo FuzzDifferential ;;
        *) echo "unknown target $1 (parser, connection, differential)" >&2; exit 2 ;;
    esac
}

seed() {
    for target in FuzzParser FuzzConnection FuzzDifferential; do
        if [ ! -d "corpus/$target" ] && [ -d "corpora/$target" ]; then
            mkdir -p corpus && cp -r "corpora/$target" "corpus/$target"
        fi
    done
    if [ ! -d "corpus/FuzzParser" ] || [ ! -d "corpus/FuzzConnection" ]; then
        python3 make-corpus.py corpus
    fi
    if [ ! -d "corpus/FuzzDifferential" ]; then
        # The parser's seeds without their two leading bytes (flags, split seed).
        mkdir -p corpus/FuzzDifferential
        for f in corpus/FuzzParser/*; do tail -c +3 "$f" > "corpus/FuzzDifferential/$(basename "$f")"; done
    fi
}

minimize() {
    local target
    target=$(target_name "$1")
    rm -rf "corpora/$target.new" && mkdir -p "corpora/$target.new"
    "$(bin $target)" -merge=1 -max_len=8192 -timeout=20 -rss_limit_mb=2048 "corpora/$target.new" \
        "corpus/$target" > "/tmp/fuzz-merge-$target.log" 2>&1 || { tail -20 "/tmp/fuzz-merge-$target.log"; return 1; }
    rm -rf "corpora/$target" && mv "corpora/$target.new" "corpora/$target"
    echo "$target: $(ls "corpora/$target" | wc -l) inputs, $(du -sh "corpora/$target" | cut -f1)"
}

regressions() {
    local status=0
    for target in FuzzParser FuzzConnection FuzzDifferential; do
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
    minimize) minimize "$1" ;;
    parser|connection|differential) [ -x "$(bin "$(target_name "$command")")" ] || build; seed; fuzz "$command" "$@" ;;
    regressions) regressions ;;
    volume)
        scratch=.build-volume
        case "${1:-}" in
            build) build_volume ;;
            parser|connection) [ -x "$(bin "$(target_name "$1")")" ] || build_volume; seed; fuzz "$@" ;;
            *) echo "usage: $0 volume build|parser|connection [seconds] [args]" >&2; exit 2 ;;
        esac
        ;;
    smoke)
        seconds=${1:-20}
        build
        seed
        regressions
        for t in parser connection differential; do
            fuzz $t "$seconds" > "/tmp/fuzz-smoke-$t.log" 2>&1 || { tail -60 "/tmp/fuzz-smoke-$t.log"; exit 1; }
            grep -E "^stat::number_of_executed_units|^#[0-9]+ *DONE" "/tmp/fuzz-smoke-$t.log" | tail -2
        done
        ;;
    *) sed -n 2,12p "$0"; exit 2 ;;
esac
