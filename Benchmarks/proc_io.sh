#!/bin/bash
# What a running labgated (the one whose executable is $1) writes and its CPU, from second $2 to $3
# after it is found: /proc/PID/io write_bytes, utime+stime. Benchmarks/proc_io.sh /path/labgated 25 85
exe="$1"; from="${2:-25}"; to="${3:-85}"
pid=""
while [ -z "$pid" ]; do
  for p in /proc/[0-9]*; do
    if [ "$(readlink "$p/exe" 2>/dev/null)" = "$exe" ]; then pid="${p#/proc/}"; break; fi
  done
  sleep 0.2
done
sleep "$from"
a=$(awk '/^write_bytes/ {print $2}' /proc/$pid/io); ua=$(awk '{print $14+$15}' /proc/$pid/stat)
sleep $((to - from))
b=$(awk '/^write_bytes/ {print $2}' /proc/$pid/io); ub=$(awk '{print $14+$15}' /proc/$pid/stat)
hz=$(getconf CLK_TCK)
echo "$exe pid $pid: write_bytes $(( (b - a) )) in $((to - from)) s = $(echo "scale=2; ($b - $a) / 1000000" | bc) MB, $(echo "scale=3; ($b - $a) / 1000000 / ($to - $from)" | bc) MB/s; CPU $(echo "scale=2; 100 * ($ub - $ua) / $hz / ($to - $from)" | bc) %"
