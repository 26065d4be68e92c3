#!/usr/bin/env bash
# cli_test.sh EVLOG-BINARY GOLDEN-DIR [CASE...] - black-box tests of the evlog
# tool. Each case makes logs with `evlog append` (the library writes them),
# damages some with dd/truncate, runs the tool and checks its output and exit
# status. Prints PASS/FAIL per case and "N passed, N failed" at the end.
# EVLOG_UPDATE_GOLDEN=1 rewrites the golden files; EVLOG_TEST_SEED fixes the
# seed of the randomised cases (printed either way); EVLOG_TRUNCATE_BACK
# names the truncate_back helper (built beside the tests) that the
# follow_truncate case needs, which is skipped without it.
set -u
EVLOG=$(readlink -f "$1")
GOLDEN=$(readlink -f "$2")
[ -n "${EVLOG_TRUNCATE_BACK:-}" ] && EVLOG_TRUNCATE_BACK=$(readlink -f "$EVLOG_TRUNCATE_BACK")
shift 2
export EVLOG_NO_PROGRESS=1 LC_ALL=C
SEED=${EVLOG_TEST_SEED:-$(( $(date +%s) % 100000 ))}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/evlog-cli.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cd "$WORK" || exit 2
PASSED=0
FAILED=0
CASE_OK=1

fail() { echo "  FAIL: $*"; CASE_OK=0; }
# expect_rc WANT CMD... : run CMD, keep stdout in out.txt and stderr in err.txt
expect_rc() {
    local want=$1; shift
    "$@" >out.txt 2>err.txt
    local rc=$?
    if [ "$rc" != "$want" ]; then
        fail "exit $rc, wanted $want: $*"
        sed 's/^/    | /' out.txt | head -20
        sed 's/^/    ! /' err.txt | head -10
    fi
}
expect_out() { grep -q -- "$1" out.txt || fail "output lacks '$1'"; }
expect_no_out() { ! grep -q -- "$1" out.txt || fail "output has '$1'"; }
# flip FILE POS: invert the byte at POS
flip() {
    local b
    b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
    printf "\\$(printf %03o $(( 255 - b )))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
SEG0=00000000000000000000.log
IDX0=00000000000000000000.index
# mklog DIR: 1000 records in two segments (the first sealed), 20 batches of
# 50. Where the first segment ends is the library's choice: mklog sets SEG1
# to the second segment's name, BASE1 to its base offset and SIZE0 to the
# size of the first.
mklog() {
    rm -rf "$1"
    seq 1 1000 | "$EVLOG" append --segment-bytes 8192 --batch 50 --timestamp 2024-01-01T00:00:00Z "$1" \
        || fail "append failed"
    SEG1=$(cd "$1" && ls -- *.log | tail -n 1)
    BASE1=$((10#${SEG1%.log}))
    SIZE0=$(stat -c %s "$1/$SEG0")
    [ "$SEG1" != "$SEG0" ] && [ $((BASE1 % 50)) = 0 ] || fail "mklog: not two segments ($SEG1)"
}
# mkroll DIR: the log of mklog, with the checkpoint it had after its first
# 100 records (durable segment: the first). A checkpoint is a lower bound
# of what is durable, so this is what a crash during the roll from the first
# segment to the second can leave, before the checkpoint moved on.
mkroll() {
    rm -rf "$1"
    seq 1 100 | "$EVLOG" append --segment-bytes 8192 --batch 50 --timestamp 2024-01-01T00:00:00Z "$1" \
        || fail "append failed"
    cp "$1/checkpoint" "$1.ckpt"
    seq 101 1000 | "$EVLOG" append --segment-bytes 8192 --batch 50 --timestamp 2024-01-01T00:00:00Z "$1" \
        || fail "append failed"
    cp "$1.ckpt" "$1/checkpoint"
    SEG1=$(cd "$1" && ls -- *.log | tail -n 1)
    BASE1=$((10#${SEG1%.log}))
    SIZE0=$(stat -c %s "$1/$SEG0")
    [ "$SEG1" != "$SEG0" ] || fail "mkroll: not two segments"
}
# data_end DIR FILE: where the batches of segment FILE end (stat --json)
data_end() {
    "$EVLOG" stat --json "$1" | grep "\"file\":\"$2\"" | sed 's/.*"data_end":\([0-9]*\).*/\1/'
}
sums() { (cd "$1" && find . -type f | sort | xargs md5sum); }

case_usage() {
    expect_rc 0 "$EVLOG" help; expect_out "usage: evlog COMMAND"; expect_out "verify"
    for c in stat dump verify repair cat append; do
        expect_rc 0 "$EVLOG" "$c" --help; expect_out "usage: evlog $c"
        expect_rc 0 "$EVLOG" help "$c"; expect_out "usage: evlog $c"
        expect_rc 2 "$EVLOG" "$c" --no-such-option x
    done
    expect_rc 2 "$EVLOG"
    expect_rc 2 "$EVLOG" frobnicate
    expect_rc 2 "$EVLOG" stat
    expect_rc 2 "$EVLOG" dump --from-offset abc log
    expect_rc 2 "$EVLOG" dump --from-time yesterday log
    expect_rc 0 "$EVLOG" --version; expect_out "evlog "
}

case_healthy() {
    mklog log
    expect_rc 0 "$EVLOG" stat log
    expect_out "2 segments"; expect_out "1000 records"; expect_out "start 0, end 1000, durable 1000"
    expect_out "$SEG0 .* sealed"; expect_out "$SEG1 .* active"
    expect_rc 0 "$EVLOG" verify log; expect_out ": ok$"
    expect_rc 0 "$EVLOG" verify --json log; expect_out '"ok":true'; expect_out '"records":1000'
    expect_rc 0 "$EVLOG" verify "log/$SEG0"; expect_out "$BASE1 records"
    expect_rc 0 "$EVLOG" dump --batches --index log
    expect_out "batch @64: "; expect_out "  999 @"; expect_out 'value "1000"'; expect_out "entry 0: "
    expect_rc 0 "$EVLOG" dump "log/$SEG1"; expect_out "  $BASE1 @"; expect_no_out "  $((BASE1 - 1)) @"
    expect_rc 0 "$EVLOG" cat log
    seq 1 1000 | cmp -s - out.txt || fail "cat does not give back what was appended"
}

case_golden() {
    # a fixed log: fixed timestamps and input, keys, a tombstone-free mix of
    # text and binary values, an LZ4-compressed run, three segments
    rm -rf log
    printf 'a=1\nb=2\nc=\nplain\n' | "$EVLOG" append --key-sep = --batch 2 --segment-bytes 4096 \
        --index-interval 256 --timestamp 2024-05-01T12:00:00Z log || fail append
    printf '\003\000\000\000\000\001\377\000\000\000\000' |
        "$EVLOG" append --length-prefixed --segment-bytes 4096 --timestamp 1714564800000000001 log || fail append
    for i in $(seq 1 150); do printf 'record number %03d with some padding to fill the segment\n' "$i"; done |
        "$EVLOG" append --batch 7 --segment-bytes 4096 --index-interval 256 \
        --timestamp 2024-05-01T12:00:01.5Z log || fail append
    for i in $(seq 1 40); do echo "compressible compressible compressible $i"; done |
        "$EVLOG" append --batch 20 --compress lz4 --segment-bytes 4096 --timestamp 2024-05-02T00:00:00Z log ||
        fail append
    expect_rc 0 "$EVLOG" dump --json --batches --index log; mv out.txt dump.json
    expect_rc 0 "$EVLOG" stat --json log; mv out.txt stat.json
    grep -q '"compression":"lz4"' dump.json || fail "no LZ4 batch in the golden log"
    grep -q '"value_hex":"0001ff"' dump.json || fail "no binary value in the golden log"
    [ "$(grep -c '"type":"segment"' stat.json)" -ge 3 ] || fail "fewer than 3 segments"
    for f in dump.json stat.json; do
        if [ "${EVLOG_UPDATE_GOLDEN:-0}" = 1 ]; then
            cp "$f" "$GOLDEN/$f"
        elif ! diff -u "$GOLDEN/$f" "$f" >diff.txt; then
            fail "$f differs from the golden file"; head -40 diff.txt
        fi
    done
}

case_roundtrip() {
    echo "  seed $SEED"
    # arbitrary bytes, length-prefixed: every byte value, empty values, NULs, newlines
    perl -e 'srand($ARGV[0]); for (1..500) { my $n = int(rand(4)) ? int(rand(300)) : 0;
        my $v = join("", map { chr(int(rand(256))) } 1..$n); print pack("V", $n), $v; }
        print pack("V", 256), join("", map { chr } 0..255);' "$SEED" >in.bin
    expect_rc 0 "$EVLOG" append --length-prefixed --batch 37 --segment-bytes 16384 lp <in.bin
    expect_rc 0 "$EVLOG" cat --length-prefixed lp
    cmp -s in.bin out.txt || fail "length-prefixed round trip differs"
    expect_rc 0 "$EVLOG" verify lp
    # lines with a key separator: any byte but newline
    perl -e 'srand($ARGV[0]); for (1..300) { my $k = join("", map { chr(1+int(rand(254))) } 1..int(rand(8)));
        $k =~ s/[=\n]/x/g; my $v = join("", map { chr(int(rand(256))) } 1..int(rand(80)));
        $v =~ s/\n/y/g; print "$k=$v\n"; }' "$SEED" >in.txt
    expect_rc 0 "$EVLOG" append --key-sep = --compress lz4 kv <in.txt
    expect_rc 0 "$EVLOG" cat --key-sep = kv
    cmp -s in.txt out.txt || fail "key-separated round trip differs"
    # JSON: text as strings, other bytes as hex
    printf 'caf\303\251\n\377\376\n' | "$EVLOG" append js || fail append
    expect_rc 0 "$EVLOG" cat --json js
    expect_out '"value":"café"'; expect_out '"value_hex":"fffe"'; expect_out '"offset":1'
    expect_rc 0 "$EVLOG" append -v --json js </dev/null
    printf 'x\ny\n' | "$EVLOG" append -v js >out.txt || fail append
    expect_out "appended 2 records at offsets 2..3"
}

case_cat_ranges() {
    seq 1 10 | "$EVLOG" append --timestamp 2024-01-01T00:00:00Z log || fail append
    seq 11 20 | "$EVLOG" append --timestamp 2024-01-02T00:00:00Z log || fail append
    expect_rc 0 "$EVLOG" cat --from-offset 5 -n 3 log
    [ "$(cat out.txt)" = "$(printf '6\n7\n8')" ] || fail "cat --from-offset 5 -n 3"
    expect_rc 0 "$EVLOG" cat --from-time 2024-01-01T12:00:00Z log
    [ "$(cat out.txt)" = "$(seq 11 20)" ] || fail "cat --from-time"
    expect_rc 0 "$EVLOG" dump --from-offset 12 --to-offset 13 log
    expect_out "  12 @"; expect_out "  13 @"; expect_no_out "  11 @"; expect_no_out "  14 @"
    expect_out "2024-01-02T00:00:00.000000000Z (1704153600000000000)"
    expect_rc 0 "$EVLOG" dump --from-time 2024-01-02 --json log
    [ "$(grep -c '"type":"record"' out.txt)" = 10 ] || fail "dump --from-time"
    expect_rc 0 "$EVLOG" dump --max-bytes 1 --batches log
    [ "$(grep -c 'batch @' out.txt)" = 1 ] || fail "dump --max-bytes"
}

case_follow() {
    seq 1 5 | "$EVLOG" append log || fail append
    "$EVLOG" cat -f log >follow.txt 2>&1 &
    local pid=$!
    sleep 0.5
    seq 6 9 | "$EVLOG" append log || fail append
    local i
    for i in $(seq 1 50); do
        [ "$(wc -l <follow.txt)" -ge 9 ] && break
        sleep 0.2
    done
    kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
    [ "$(cat follow.txt)" = "$(seq 1 9)" ] || { fail "cat -f did not follow"; cat follow.txt; }
}

# wait_lines FILE N: wait up to 10 s until FILE has at least N lines
wait_lines() {
    local i
    for i in $(seq 1 100); do
        [ "$(wc -l <"$1")" -ge "$2" ] && return 0
        sleep 0.1
    done
    return 1
}

# One writer process appends across segment rolls while `cat -f` runs: the
# read-only handle of cat follows it into each new segment.
case_follow_roll() {
    seq 1 5 | "$EVLOG" append --segment-bytes 8192 log || fail append
    "$EVLOG" cat -f log >follow.txt 2>&1 &
    local cat_pid=$! writer_pid n chunk
    mkfifo in.fifo
    "$EVLOG" append --segment-bytes 8192 --batch 10 log <in.fifo >writer.txt 2>&1 &
    writer_pid=$!
    exec 3>in.fifo
    n=5
    for chunk in 1 2 3 4 5 6; do
        # whole batches, so that the writer appends them before more come
        seq $(( n + 1 )) $(( n + 500 )) >&3
        n=$(( n + 500 ))
        wait_lines follow.txt "$n" || { fail "cat -f stopped at $(wc -l <follow.txt) of $n lines"; break; }
    done
    [ "$(ls log/*.log | wc -l)" -ge 3 ] || fail "the writer did not roll twice: $(ls log)"
    kill -0 "$writer_pid" 2>/dev/null || fail "the writer ended before the end of the test"
    exec 3>&-
    wait "$writer_pid" || { fail "the writer failed"; cat writer.txt; }
    kill "$cat_pid" 2>/dev/null; wait "$cat_pid" 2>/dev/null
    [ "$(cat follow.txt)" = "$(seq 1 "$n")" ] || { fail "cat -f did not follow"; tail -5 follow.txt; }
}

# A writer in another process truncates the log back while `cat -f` runs:
# a read-only handle does not see that, and cat finds it out from the
# checkpoint, reopens, and prints the records appended after it.
case_follow_truncate() {
    local trunc=${EVLOG_TRUNCATE_BACK:-}
    [ -n "$trunc" ] && [ -x "$trunc" ] || { echo "  (no EVLOG_TRUNCATE_BACK helper: skipped)"; return; }
    seq 1 20 | "$EVLOG" append log || fail append
    "$EVLOG" cat -f log >follow.txt 2>&1 &
    local pid=$!
    wait_lines follow.txt 20 || fail "cat -f printed $(wc -l <follow.txt) of 20 lines"
    "$trunc" log 10 || fail "truncate_back failed"
    sleep 3 # cat -f looks at the checkpoint after a second without news
    printf 'a\nb\nc\n' | "$EVLOG" append log || fail append
    wait_lines follow.txt 23
    kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
    [ "$(cat follow.txt)" = "$(seq 1 20; printf 'a\nb\nc')" ] ||
        { fail "cat -f did not follow the truncation"; cat follow.txt; }
}

case_flip_sealed() {
    mklog log
    flip "log/$SEG0" 500
    expect_rc 1 "$EVLOG" verify log
    expect_out "error: $SEG0: bytes 403..751 (349 bytes): checksum mismatch \[bad_batch\]; offsets affected: 50..99"
    expect_rc 1 "$EVLOG" verify --json log
    expect_out '"problem":"bad_batch","file":"'$SEG0'","pos":403,"length":349,"first_offset":50,"end_offset":100'
    expect_rc 1 "$EVLOG" dump log
    expect_out "bad_batch"; expect_out "  49 @"; expect_out "  100 @"; expect_no_out "  50 @"
    expect_out "^    00000193  "
    expect_rc 0 "$EVLOG" stat log   # stat trusts the footer of a sealed segment: verify reads it all
    expect_rc 1 "$EVLOG" repair log; expect_out "unrepaired"
    expect_rc 0 "$EVLOG" repair --quarantine log
    expect_out "offsets lost: 50..999"; expect_out "$SEG0.403.broken"
    [ -f "log/$SEG1.0.broken" ] || fail "the later segment was not kept"
    [ "$(stat -c %s "log/$SEG0.403.broken")" = $(( SIZE0 - 403 )) ] || fail "cut bytes not all kept"
    expect_rc 0 "$EVLOG" verify --strict log
    expect_rc 0 "$EVLOG" cat log; [ "$(cat out.txt)" = "$(seq 1 50)" ] || fail "records before the damage"
    seq 1 3 | "$EVLOG" append -v log >out.txt || fail "the repaired log does not open"
    expect_out "offsets 50..52"
}

case_zeroed_range() {
    mklog log
    dd if=/dev/zero of="log/$SEG0" bs=1 seek=1000 count=700 conv=notrunc status=none
    expect_rc 1 "$EVLOG" verify log
    expect_out "$SEG0: bytes 752..1945 (1194 bytes): checksum mismatch \[bad_batch\]; offsets affected: 100..249"
    expect_rc 1 "$EVLOG" dump log; expect_out "  99 @"; expect_out "  250 @"
}

case_cut_tail() {
    mklog log
    truncate -s 3000 "log/$SEG0"
    expect_rc 1 "$EVLOG" verify log
    expect_out "no footer \[segment_footer\]"
    expect_out "truncated batch \[bad_batch\]; offsets affected: 350..$((BASE1 - 1))"
    expect_out "segment_gap"
    expect_rc 0 "$EVLOG" repair --quarantine log; expect_out "offsets lost: 350..999"
    expect_rc 0 "$EVLOG" verify log
    seq 1 2 | "$EVLOG" append log || fail "the repaired log does not open"
}

case_torn_tail() {
    mklog log
    local end
    end=$(data_end log "$SEG1")
    # garbage after the last batch of the active segment: past the durable point
    printf 'GARBAGE' | dd of="log/$SEG1" bs=1 seek=$(( end + 137 )) conv=notrunc status=none
    expect_rc 0 "$EVLOG" verify log; expect_out "torn_tail"; expect_out "1 warnings (ok)"
    expect_rc 1 "$EVLOG" verify --strict log
    expect_rc 0 "$EVLOG" repair log; expect_out "zero_tail $SEG1 bytes $end..8191"
    expect_rc 0 "$EVLOG" verify --strict log
    [ "$(stat -c %s "log/$SEG1")" = 8192 ] || fail "the active segment changed size"
}

# A crash during a roll, after the footer went after the last batch of the
# first segment but before the sealer cut the file to it: the segment is
# still at its preallocated size. Recovery finishes the seal: a warning.
# The same file before the checkpoint's durable segment is an error.
case_seal_unfinished() {
    mklog log
    truncate -s 8192 "log/$SEG0"
    expect_rc 1 "$EVLOG" verify log; expect_out "error: $SEG0: .*no footer \[segment_footer\]"
    mkroll log
    truncate -s 8192 "log/$SEG0"
    expect_rc 0 "$EVLOG" verify log
    expect_out "warning: $SEG0: bytes $(( SIZE0 - 80 ))..$(( SIZE0 - 1 )) (80 bytes): seal not finished.*\[seal_unfinished\]"
    expect_out "1000 records, start offset 0, end offset 1000: 0 errors, 1 warnings (ok)"
    expect_rc 1 "$EVLOG" verify --strict log
    expect_rc 0 "$EVLOG" stat --json log; expect_out '"file":"'$SEG0'".*"state":"sealed"'
    expect_rc 0 "$EVLOG" cat log; [ "$(cat out.txt)" = "$(seq 1 1000)" ] || fail "records"
    cp -r log log2
    expect_rc 0 "$EVLOG" repair log; expect_out "write_footer $SEG0 bytes $(( SIZE0 - 80 ))..8191: seal not finished"
    [ "$(stat -c %s "log/$SEG0")" = "$SIZE0" ] || fail "repair did not cut the file after its footer"
    expect_rc 0 "$EVLOG" verify --strict log
    # the writer's open finishes it too
    printf 'x\n' | "$EVLOG" append log2 >/dev/null 2>&1 || fail "the writer does not open"
    [ "$(stat -c %s "log2/$SEG0")" = "$SIZE0" ] || fail "the writer did not finish the seal"
    expect_rc 0 "$EVLOG" verify --strict log2
}

# A power loss during a roll lost the first segment's footer (never synced):
# past the checkpoint's durable segment, that is a torn tail, and the later
# segment was never durable either. Warnings; a writer's open cuts them.
case_torn_roll() {
    mkroll log
    truncate -s $(( SIZE0 - 80 )) "log/$SEG0"
    truncate -s 8192 "log/$SEG0"
    expect_rc 0 "$EVLOG" verify log
    expect_out "warning: $SEG0: byte $(( SIZE0 - 80 )): no footer after the last valid batch.*\[torn_tail\]; offsets affected: none"
    expect_out "warning: $SEG1: bytes 0\.\..*a segment after a torn tail.*\[torn_tail\]; offsets affected: $BASE1\.\."
    expect_out "end offset $BASE1: 0 errors, 2 warnings (ok)"
    expect_no_out "segment_gap"; expect_no_out "segment_footer"
    expect_rc 0 "$EVLOG" cat log; [ "$(cat out.txt)" = "$(seq 1 "$BASE1")" ] || fail "records before the tail"
    expect_rc 0 "$EVLOG" repair log
    expect_out "move_segment $SEG1 .*never made durable"; expect_out "zero_tail $SEG0 bytes $(( SIZE0 - 80 ))..8191"
    expect_out "write_checkpoint"
    [ -f "log/$SEG1.0.broken" ] || fail "the later segment was not kept"
    expect_rc 0 "$EVLOG" verify --strict log
    expect_rc 0 "$EVLOG" cat log; [ "$(cat out.txt)" = "$(seq 1 "$BASE1")" ] || fail "records after repair"
    seq 1 2 | "$EVLOG" append -v log >out.txt || fail "the repaired log does not open"
    expect_out "offsets $BASE1..$(( BASE1 + 1 ))"
}

case_index_deleted() {
    mklog log
    cp "log/$IDX0" idx.orig
    rm "log/$IDX0"
    expect_rc 0 "$EVLOG" verify log; expect_out "index_missing"
    expect_rc 0 "$EVLOG" repair log; expect_out "write_index"
    cmp -s idx.orig "log/$IDX0" || fail "the rebuilt index is not the library's"
    expect_rc 0 "$EVLOG" verify --strict log
}

# An index is a cache (the library checks what it uses and rebuilds it):
# garbage in it is a warning, and repair rewrites it.
case_index_garbage() {
    mklog log
    cp "log/$IDX0" idx.orig
    head -c 100 /dev/urandom >"log/$IDX0"
    expect_rc 0 "$EVLOG" verify log; expect_out "warning: $IDX0: .*\[index\]"
    expect_rc 1 "$EVLOG" verify --strict log
    expect_rc 0 "$EVLOG" dump --index log; expect_out "INVALID"
    expect_rc 0 "$EVLOG" cat log; [ "$(wc -l <out.txt)" = 1000 ] || fail "records lost"
    expect_rc 0 "$EVLOG" repair log
    cmp -s idx.orig "log/$IDX0" || fail "the rebuilt index is not the library's"
    # an entry pointing at the wrong batch
    printf '\001' | dd of="log/$IDX0" bs=1 seek=64 conv=notrunc status=none
    expect_rc 0 "$EVLOG" verify log; expect_out "warning: $IDX0: .*\[index\]"
    expect_rc 0 "$EVLOG" repair log
    expect_rc 0 "$EVLOG" verify --strict log
}

# An index is never synced: after a power loss, the one written before a
# truncation may be back, its entries past the cut. A warning; rebuilt.
case_index_stale() {
    local trunc=${EVLOG_TRUNCATE_BACK:-}
    [ -n "$trunc" ] && [ -x "$trunc" ] || { echo "  (no EVLOG_TRUNCATE_BACK helper: skipped)"; return; }
    mklog log
    cp "log/$IDX0" idx.old
    "$trunc" --segment-bytes 8192 log 100 || fail "truncate_back failed"
    cp idx.old "log/$IDX0"
    expect_rc 0 "$EVLOG" verify log; expect_out "warning: $IDX0: .*stale.*\[index\]"
    expect_no_out "^error"
    expect_rc 0 "$EVLOG" cat log; [ "$(cat out.txt)" = "$(seq 1 100)" ] || fail "records"
    expect_rc 0 "$EVLOG" repair log; expect_out "write_index $SEG0"
    expect_rc 0 "$EVLOG" verify --strict log
}

case_footer() {
    mklog log
    flip "log/$SEG0" $(( SIZE0 - 8 ))
    expect_rc 1 "$EVLOG" verify log; expect_out "footer checksum mismatch \[segment_footer\]"
    expect_rc 0 "$EVLOG" repair log; expect_out "write_footer"
    expect_rc 0 "$EVLOG" verify --strict log
    expect_rc 0 "$EVLOG" cat log; [ "$(wc -l <out.txt)" = 1000 ] || fail "records lost"
}

case_header() {
    mklog log
    flip "log/$SEG0" 20
    expect_rc 1 "$EVLOG" verify log; expect_out "segment header checksum mismatch"
    expect_rc 0 "$EVLOG" repair log; expect_out "write_header"
    expect_rc 0 "$EVLOG" verify --strict log
    expect_rc 0 "$EVLOG" cat log; [ "$(wc -l <out.txt)" = 1000 ] || fail "records lost"
}

# The checkpoint's two slots: a damaged one is reported with its bytes; a
# warning while the other slot is valid, an error when none is. A slot
# never written (zeros) is fine. Repair writes the damaged slots again.
case_checkpoint_slot() {
    mklog log
    cp log/checkpoint ckpt.orig
    local s0 s1 old
    s0=$(od -An -tu8 -j16 -N8 log/checkpoint | tr -d ' ')
    s1=$(od -An -tu8 -j144 -N8 log/checkpoint | tr -d ' ')
    [ "$s0" -gt 0 ] && [ "$s1" -gt 0 ] || fail "both slots should have been written ($s0, $s1)"
    old=$(( s0 < s1 ? 0 : 128 )) # the slot of the older checkpoint
    flip log/checkpoint 17
    expect_rc 0 "$EVLOG" verify log
    expect_out "warning: checkpoint: bytes 0..127 (128 bytes): checkpoint slot damaged (checksum mismatch); the other slot is used \[checkpoint\]"
    expect_rc 1 "$EVLOG" verify --strict log
    expect_rc 0 "$EVLOG" repair log; expect_out "write_checkpoint"
    expect_rc 0 "$EVLOG" verify --strict log
    # both slots damaged: no valid slot remains
    cp ckpt.orig log/checkpoint
    flip log/checkpoint 0; flip log/checkpoint 250
    expect_rc 1 "$EVLOG" verify log
    expect_out "error: checkpoint: bytes 0..127 .*(no checkpoint magic), and no valid slot remains"
    expect_out "error: checkpoint: bytes 128..255 .*(checksum mismatch), and no valid slot remains"
    expect_rc 0 "$EVLOG" cat log; [ "$(wc -l <out.txt)" = 1000 ] || fail "records lost"
    expect_rc 0 "$EVLOG" repair log; expect_out "write_checkpoint checkpoint bytes 128..255"
    expect_out "write_checkpoint checkpoint bytes 0..127"
    expect_rc 0 "$EVLOG" verify --strict log
    # a slot never written
    cp ckpt.orig log/checkpoint
    dd if=/dev/zero of=log/checkpoint bs=1 seek=$old count=128 conv=notrunc status=none
    expect_rc 0 "$EVLOG" verify --strict log
}

# truncate.pending is the log's own file: stale without a pending
# truncation (repair removes it, as a writer's open does), else a
# truncation in progress, which the next writer's open finishes, also when
# the batch it rewrote in place is torn (truncate.pending holds its copy,
# which repair writes back).
case_truncate_pending() {
    mklog log
    printf 'EVLOGTRP stale' >log/truncate.pending
    expect_rc 0 "$EVLOG" verify log; expect_no_out "unknown_file"
    expect_out "warning: truncate.pending: .*stale: .*\[truncate_pending\]"
    expect_rc 0 "$EVLOG" repair log; expect_out "remove_file truncate.pending"
    [ ! -e log/truncate.pending ] || fail "the stale truncate.pending is still there"
    expect_rc 0 "$EVLOG" verify --strict log
    local trunc=${EVLOG_TRUNCATE_BACK:-}
    [ -n "$trunc" ] && [ -x "$trunc" ] || { echo "  (no EVLOG_TRUNCATE_BACK helper: skipped)"; return; }
    # killed while it rewrote the batch 950..999 to keep 950..974, torn
    expect_rc 9 "$trunc" --torn --segment-bytes 8192 log 975
    [ -f log/truncate.pending ] || fail "no truncate.pending"
    expect_rc 0 "$EVLOG" verify log
    expect_out "warning: truncate.pending: .*truncation in progress: .*\[truncate_pending\]; offsets affected: 950..974"
    expect_out "warning: $SEG1: .*the batch it was rewriting here is torn.*\[truncate_pending\]; offsets affected: 950..974"
    expect_out "end offset 975: 0 errors, "
    expect_no_out "torn_tail"
    expect_rc 0 "$EVLOG" cat log; [ "$(cat out.txt)" = "$(seq 1 975)" ] || fail "records during the truncation"
    # repair writes the torn batch back from truncate.pending, as a writer's
    # open does first; what is left of the old batch past it is a torn tail
    # (kept in a .broken file), and the log's new end finishes the truncation
    expect_rc 0 "$EVLOG" repair log
    expect_out "restore_batch $SEG1 bytes .*: a truncation in progress left the batch"
    expect_out "remove_file truncate.pending"
    [ ! -e log/truncate.pending ] || fail "truncate.pending left after repair finished the truncation"
    expect_rc 0 "$EVLOG" verify --strict log
    expect_rc 0 "$EVLOG" cat log; [ "$(cat out.txt)" = "$(seq 1 975)" ] || fail "records after the repair"
    printf 'x\n' | "$EVLOG" append --segment-bytes 8192 log >/dev/null 2>&1 || fail "the writer does not open"
    expect_rc 0 "$EVLOG" cat log; [ "$(cat out.txt)" = "$(seq 1 975; echo x)" ] || fail "records after the writer"
    [ ! -e log/truncate.pending ] || fail "truncate.pending left after the truncation finished"
    expect_rc 0 "$EVLOG" verify --strict log
}

case_unknown_file() {
    mklog log
    echo hello >log/README
    expect_rc 0 "$EVLOG" verify log; expect_out "warning: README: .*\[unknown_file\]"
    expect_rc 1 "$EVLOG" verify --strict log
    expect_rc 0 "$EVLOG" cat log
}

case_empty_dir() {
    mkdir empty
    expect_rc 0 "$EVLOG" verify empty; expect_out "0 segments"
    expect_rc 0 "$EVLOG" stat empty
    expect_rc 0 "$EVLOG" dump empty
    expect_rc 0 "$EVLOG" cat empty
    [ -z "$(ls empty)" ] || fail "a read-only command wrote into an empty directory"
}

case_not_a_log() {
    mkdir notlog; echo "just text" >notlog/notes.txt
    expect_rc 1 "$EVLOG" verify notlog; expect_out "\[not_log\]"
    expect_rc 1 "$EVLOG" verify notlog/notes.txt; expect_out "file shorter than a segment header \[segment_header\]"
    expect_rc 1 "$EVLOG" dump notlog/notes.txt; expect_out "just text"
    expect_rc 2 "$EVLOG" verify does-not-exist
    expect_rc 2 "$EVLOG" stat does-not-exist
    expect_rc 2 "$EVLOG" repair notlog/notes.txt
}

case_read_only() {
    mklog log
    flip "log/$SEG0" 3000
    printf 'junk' | dd of="log/$SEG1" bs=1 seek=700 conv=notrunc status=none
    sums log >before.txt
    for cmd in stat dump verify cat; do "$EVLOG" $cmd log >/dev/null 2>&1; done
    "$EVLOG" dump --index --batches "log/$SEG0" >/dev/null 2>&1
    "$EVLOG" repair --dry-run --quarantine log >/dev/null 2>&1
    sums log >after.txt
    cmp -s before.txt after.txt || fail "a read-only command modified the log"
}

case_dry_run() {
    mklog log
    flip "log/$SEG0" 500
    sums log >before.txt
    expect_rc 0 "$EVLOG" repair --dry-run --quarantine log
    expect_out "would cut $SEG0 bytes 403..$(( SIZE0 - 1 ))"; expect_out "would move_segment $SEG1"
    expect_out "dry run: nothing changed"; expect_out "offsets lost: 50..999"
    sums log >after.txt
    cmp -s before.txt after.txt || fail "a dry run modified the log"
}

case_locked() {
    mklog log
    command -v flock >/dev/null || { echo "  (no flock(1): skipped)"; return; }
    flock log/lock sleep 3 &
    local pid=$!
    sleep 0.5
    expect_rc 2 "$EVLOG" repair log
    grep -q "locked" err.txt || fail "no word of the lock"
    wait "$pid"
    expect_rc 0 "$EVLOG" repair log
}

# Random damage: whatever the bytes, verify and dump end with 0 or 1, and a
# quarantine repair leaves a log that verifies clean and opens.
case_fuzz() {
    echo "  seed $SEED"
    local i rc
    mklog base
    for i in $(seq 1 25); do
        rm -rf log; cp -r base log
        perl -e 'srand($ARGV[0]); my @f = @ARGV[1..$#ARGV];
            for (1..1+int(rand(4))) { my $f = $f[int(rand(@f))]; my $s = -s $f; next unless $s;
                open(my $h, "+<", $f) or die; binmode $h; my $len = int(rand(3)) ? 1 : int(rand(200));
                my $p = int(rand($s)); seek($h, $p, 0);
                print $h join("", map { chr(int(rand(256))) } 1..$len); close $h; }' \
            "$(( SEED + i ))" log/$SEG0 log/$SEG1 log/$IDX0 log/checkpoint
        for cmd in verify dump stat; do
            timeout 60 "$EVLOG" $cmd log >out.txt 2>err.txt; rc=$?
            [ "$rc" = 0 ] || [ "$rc" = 1 ] || fail "round $i: $cmd exited $rc (seed $SEED)"
        done
        timeout 60 "$EVLOG" repair --quarantine log >out.txt 2>err.txt; rc=$?
        [ "$rc" = 0 ] || { fail "round $i: repair exited $rc (seed $SEED)"; cat out.txt err.txt; }
        timeout 60 "$EVLOG" verify log >out.txt 2>err.txt || { fail "round $i: not clean after repair"; cat out.txt; }
        echo x | timeout 60 "$EVLOG" append log >/dev/null 2>err.txt || { fail "round $i: does not open after repair"; cat err.txt; }
    done
}

run_case() {
    local name=$1
    CASE_OK=1
    mkdir -p "$WORK/$name" && cd "$WORK/$name" || exit 2
    "case_$name"
    cd "$WORK" || exit 2
    if [ "$CASE_OK" = 1 ]; then echo "PASS $name"; PASSED=$((PASSED + 1)); else echo "FAIL $name"; FAILED=$((FAILED + 1)); fi
}

if [ $# -eq 0 ]; then
    set -- usage healthy golden roundtrip cat_ranges follow follow_roll follow_truncate flip_sealed \
        zeroed_range cut_tail torn_tail seal_unfinished torn_roll \
        index_deleted index_garbage index_stale footer header checkpoint_slot truncate_pending \
        unknown_file empty_dir not_a_log read_only dry_run locked fuzz
fi
for c in "$@"; do run_case "$c"; done
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
