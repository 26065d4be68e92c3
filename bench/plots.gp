# plots.gp - the figures of docs/performance.md from the data files that
# bench/format.awk writes. Run as: gnuplot -e "dir='docs/perf'" bench/plots.gp

set terminal pngcairo noenhanced size 900,540 font "sans,11"
set grid
set key outside right

# throughput vs value size, batches of 1000, no sync, one line per engine
engines = system("cat " . dir . "/engines.txt")
set output dir . "/throughput.png"
set title "Batched appends (1000 per commit, no sync): throughput vs value size"
set logscale x 2
set xlabel "value size (bytes)"
set ylabel "MB/s of key + value"
plot for [i=1:words(engines)] dir . "/vs_" . word(engines, i) . ".dat" using 1:2 \
     with linespoints lw 2 pt 7 title word(engines, i)
unset logscale x

# open time after kill -9 vs log size
set output dir . "/open.png"
set title "evlog_open after kill -9 of the writer"
set xlabel "log size (GiB)"
set ylabel "ms"
set yrange [0:*]
set xrange [0:*]
plot dir . "/open.dat" using 1:2 with linespoints lw 2 pt 7 title "warm (median)", \
     dir . "/open.dat" using 1:3 with linespoints lw 2 pt 5 title "cold (page cache dropped)", \
     dir . "/open.dat" using 1:4 with linespoints lw 2 pt 9 title "clean (after close)"
set autoscale y
set autoscale x

# latency percentiles
set output dir . "/latency.png"
set title "Latency percentiles"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set logscale y 10
set ylabel "ns (log scale)"
set xlabel ""
set xtics rotate by -30 left
plot dir . "/latency.dat" using 2:xtic(1) title "p50", \
     "" using 3 title "p90", "" using 4 title "p99", "" using 5 title "p99.9"
unset logscale y
set xtics norotate
set style data lines

# group commit scaling
set output dir . "/group_commit.png"
set title "Group commit: EVLOG_SYNC_ALWAYS, one record per append"
set logscale x 2
set xlabel "threads"
set ylabel "appends/s"
set y2label "latency (us)"
set y2tics
set ytics nomirror
plot dir . "/group_commit.dat" using 1:2 with linespoints lw 2 pt 7 title "appends/s", \
     dir . "/group_commit.dat" using 1:3 axes x1y2 with linespoints lw 2 pt 5 title "p50 latency", \
     dir . "/group_commit.dat" using 1:4 axes x1y2 with linespoints lw 2 pt 9 title "p99 latency"
