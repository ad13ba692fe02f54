#!/usr/bin/env bash
# Draws a soak table (bench/soak.sh's TSV: seconds, then RSS KiB and open files per daemon) as
# a PNG with gnuplot (Debian's gnuplot-nox): RSS above, open files below, one line per daemon.
#
#   bench/soak_plot.sh bench/soak.tsv bench/soak.png "8397 stored pushes/s"
set -euo pipefail
tsv=$1 png=$2 what=${3:-}
command -v gnuplot >/dev/null || { echo "soak_plot: no gnuplot (apt install gnuplot-nox)" >&2; exit 1; }
daemons=$(head -1 "$tsv" | tr '\t' '\n' | sed -n 's/_rss_kib$//p' | tr '\n' ' ')
gnuplot <<GP
set terminal pngcairo noenhanced size 1100,800
set output "$png"
names = "$daemons"
set multiplot layout 2,1 title "Soak: $what, with connection churn"
set grid; set key outside right; set xlabel "minutes"
set ylabel "RSS (MiB)"; set yrange [0:*]
plot for [i=1:words(names)] "$tsv" using (\$1/60):(column(2*i)/1024) with lines lw 2 title word(names, i)
set ylabel "open files"; set logscale y
plot for [i=1:words(names)] "$tsv" using (\$1/60):(column(2*i+1)) with lines lw 2 title word(names, i)
unset multiplot
GP
echo "soak: plot in $png"
