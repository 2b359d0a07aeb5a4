#!/usr/bin/env bash
# bench-capture.sh: packet-capture throughput of flowsift next to its peers.
#
#  1. Generated captures (internal/cmd/pcapgen, cached in .bench/): plain
#     Ethernet and the same traffic VXLAN-wrapped like a mirror session,
#     CAPTURE_PACKETS packets (default 2,000,000) over CAPTURE_FLOWS
#     connections (default 20,000).
#  2. End to end on each file, best of RUNS (default 3): flowsift capture -r
#     (file -> decode -> flow table -> JSONL records to /dev/null; "flows"
#     is flowsift flows FILE on the same file) next to
#     softflowd -r (NetFlow v9 to a local UDP sink), nfpcapd -r and argus -r,
#     as packets/s of wall time and of CPU time (the machine may be shared),
#     with flowsift's ratio to each. Goal: plain >= 4x softflowd.
#  3. Per core: the Go benchmarks of capture/live (decode + flow table on
#     one goroutine over frames in memory; the engine over the files), in
#     cpu-records/s = packets per CPU-second, RUNS times, the best counted.
#     Goal: VXLAN >= 3.4 M/s, 0 allocs/packet.
#  4. Live (root, LIVE=0 skips): tcpreplay between two network namespaces
#     over a veth pair, flowsift capture -i on the receiving end with two
#     fanout workers; the rate is stepped up until the kernel drops packets
#     (TPACKET statistics) or flowsift reads fewer than were sent. Reports
#     the highest rate without loss.
#
# PARTS (default "files percore live") selects the parts to run.
set -euo pipefail
cd "$(dirname "$0")/.."
PARTS="${PARTS:-files percore live}"
has() { case " $PARTS " in *" $1 "*) return 0 ;; esac; return 1; }
scripts/install-deps.sh softflowd nfdump argus-server argus-client tcpreplay iproute2 time bc libpcap-dev
mkdir -p .bench
N="${CAPTURE_PACKETS:-2000000}"
M="${CAPTURE_FLOWS:-20000}"
RUNS="${RUNS:-3}"
go build -o .bench/flowsift ./cmd/flowsift
go build -o .bench/pcapgen ./internal/cmd/pcapgen
tag="$N"
[ "$N" = 2000000 ] && tag=2m
plain=".bench/capture-plain-$tag.pcap"
vxlan=".bench/capture-vxlan-$tag.pcap"
# The same arguments as capture/live's benchmarks (benchPcap), so both
# share the cached files.
if has files; then
  [ -s "$plain" ] || .bench/pcapgen -o "$plain" -n "$N" -m "$M" --seed 1
  [ -s "$vxlan" ] || .bench/pcapgen -o "$vxlan" -n "$N" -m "$M" --seed 1 --vxlan 4242
fi

work=$(mktemp -d)
sinkpid=
cleanup() {
  [ -n "$sinkpid" ] && kill "$sinkpid" 2>/dev/null || true
  [ -n "${nsa:-}" ] && { ip netns del "$nsa" 2>/dev/null || true; ip netns del "$nsb" 2>/dev/null || true; }
  rm -rf "$work"
}
trap cleanup EXIT

# softflowd exports NetFlow over UDP: a local sink swallows it.
sinkport=$((20000 + RANDOM % 20000))
python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('127.0.0.1', $sinkport))
while True:
    s.recv(65535)
" &
sinkpid=$!

# measure LABEL CMD...: best wall time and best CPU time (user+sys) of RUNS
# runs, into $best_wall and $best_cpu.
measure() {
  best_wall=; best_cpu=
  for _ in $(seq "$RUNS"); do
    rm -rf "$work/out" && mkdir -p "$work/out"
    if ! /usr/bin/time -f '%e %U %S' -o "$work/time" "$@" >"$work/stdout" 2>"$work/stderr"; then
      echo "bench-capture: $* failed:" >&2; tail -5 "$work/stderr" >&2; return 1
    fi
    read -r wall user sys <"$work/time"
    cpu=$(echo "$user + $sys" | bc -l)
    if [ -z "$best_wall" ] || [ "$(echo "$wall < $best_wall" | bc -l)" = 1 ]; then best_wall=$wall; fi
    if [ -z "$best_cpu" ] || [ "$(echo "$cpu < $best_cpu" | bc -l)" = 1 ]; then best_cpu=$cpu; fi
  done
}
rate() { # packets seconds -> packets/s (0.01 s floor)
  echo "$1 / ($2 + 0.005)" | bc -l | xargs printf '%.0f'
}
group() { echo "$1" | sed -E ':a; s/^([0-9]+)([0-9]{3})/\1,\2/; ta'; }

declare -A wall_pps cpu_pps
if has files; then
tools="flowsift flows softflowd nfpcapd argus"
for set in plain vxlan; do
  file=$plain
  [ "$set" = vxlan ] && file=$vxlan
  for tool in $tools; do
    case $tool in
      flowsift)  measure .bench/flowsift capture -r "$file" -q -o /dev/null ;;
      flows)     measure .bench/flowsift flows -q "$file" ;; # the flows command's pipeline (capture.Pipeline)
      softflowd) measure softflowd -d -r "$file" -v 9 -n "127.0.0.1:$sinkport" ;;
      nfpcapd)   measure nfpcapd -r "$file" -w "$work/out" ;;
      argus)     measure argus -r "$file" -w "$work/out/argus.out" ;;
    esac
    wall_pps[$set.$tool]=$(rate "$N" "$best_wall")
    cpu_pps[$set.$tool]=$(rate "$N" "$best_cpu")
    printf '  %-6s %-10s wall %6.2f s  cpu %6.2f s\n' "$set" "$tool" "$best_wall" "$best_cpu"
  done
done
echo
echo "capture throughput: $(group "$N") packets over $(group "$M") connections, best of $RUNS"
printf '%-6s %-10s %14s %14s %12s %12s\n' FILE TOOL "PACKETS/S" "PACKETS/CPU-S" "FLOWSIFT x" "(CPU) x"
for set in plain vxlan; do
  for tool in $tools; do
    w=${wall_pps[$set.$tool]}; c=${cpu_pps[$set.$tool]}
    rw=$(echo "${wall_pps[$set.flowsift]} / $w" | bc -l); rc=$(echo "${cpu_pps[$set.flowsift]} / $c" | bc -l)
    printf '%-6s %-10s %14s %14s %11.2fx %11.2fx\n' "$set" "$tool" "$(group "$w")" "$(group "$c")" "$rw" "$rc"
  done
done
ratio=$(echo "${wall_pps[plain.flowsift]} / ${wall_pps[plain.softflowd]}" | bc -l)
printf 'goal plain >= 4x softflowd end to end: %.2fx (wall) %s\n' "$ratio" "$([ "$(echo "$ratio >= 4" | bc -l)" = 1 ] && echo met || echo NOT met)"
fi

if has percore; then
echo
echo "per core (go test -bench, capture/live; cpu-records/s = packets per CPU-second; $RUNS runs each):"
go test -run '^$' -bench 'PerCore|EngineFile' -benchmem -benchtime "${BENCHTIME:-1x}" -count "$RUNS" ./capture/live 2>&1 |
  tee "$work/gobench" | grep -E '^Benchmark' || { cat "$work/gobench"; exit 1; }
# Best of the runs, as for the files above: on a shared machine other jobs
# only ever slow a run down (runs of one build here vary up to 2x).
pcs=$(awk '/^BenchmarkPerCoreVXLAN-/ { for (i = 1; i < NF; i++) if ($(i+1) == "cpu-records/s") print $i }' "$work/gobench")
pc=$(echo "$pcs" | sort -g | tail -1)
al=$(awk '/^BenchmarkPerCoreVXLAN-/ { for (i = 1; i < NF; i++) if ($(i+1) == "allocs/record") print $i }' "$work/gobench" | sort -g | tail -1)
if [ -n "$pc" ]; then
  printf 'goal VXLAN >= 3.4 M packets/s on one core: best %s packets/CPU-s %s (runs: %s); allocs/packet %s (goal 0)\n' \
    "$(group "${pc%.*}")" "$([ "$(echo "$pc >= 3400000" | bc -l)" = 1 ] && echo met || echo NOT met)" \
    "$(for x in $pcs; do printf '%s ' "$(group "${x%.*}")"; done | sed 's/ $//')" "$al"
fi
fi

has live || exit 0
[ "${LIVE:-1}" = 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then echo "live rate: needs root (LIVE=0 skips)"; exit 0; fi
echo
echo "live: tcpreplay over a veth pair between namespaces, flowsift capture -i (2 fanout workers)"
id=$$
nsa="fsbench-$id-a"; nsb="fsbench-$id-b"; va="fsba$id"; vb="fsbb$id"
ip netns add "$nsa"; ip netns add "$nsb"
ip link add "$va" type veth peer name "$vb"
ip link set "$va" netns "$nsa"; ip link set "$vb" netns "$nsb"
ip -n "$nsa" link set dev "$va" addrgenmode none; ip -n "$nsb" link set dev "$vb" addrgenmode none
ip -n "$nsa" addr add 10.213.251.1/30 dev "$va"; ip -n "$nsb" addr add 10.213.251.2/30 dev "$vb"
ip -n "$nsa" addr add fd00:213:fb::1/64 dev "$va" nodad; ip -n "$nsb" addr add fd00:213:fb::2/64 dev "$vb" nodad
ip -n "$nsa" link set "$va" up; ip -n "$nsb" link set "$vb" up
LN="${LIVE_PACKETS:-500000}"
live=".bench/capture-live-$LN.pcap"
# live traffic uses the test hosts' addresses only
[ -s "$live" ] || .bench/pcapgen -o "$live" -n "$LN" -m 5000 --seed 3 --hosts 10.213.251.1,10.213.251.2,fd00:213:fb::1,fd00:213:fb::2
filter="host 10.213.251.1 or host 10.213.251.2 or host fd00:213:fb::1 or host fd00:213:fb::2"
best=0
for pps in ${LIVE_RATES:-100000 200000 300000 400000 600000 800000 1000000 1500000 max}; do
  ip netns exec "$nsb" .bench/flowsift capture -i "$vb" --workers 2 --filter "$filter" -o /dev/null 2>"$work/live.err" &
  fpid=$!
  for _ in $(seq 200); do grep -q 'capturing on' "$work/live.err" && break; sleep 0.05; done
  if [ "$pps" = max ]; then speed=(--topspeed); else speed=(--pps "$pps"); fi
  ip netns exec "$nsa" tcpreplay -K -i "$va" "${speed[@]}" "$live" >"$work/replay" 2>&1 || true
  sleep 0.5
  kill -INT "$fpid"; wait "$fpid" || true
  sent=$(awk '/Actual:/ { print $2; exit }' "$work/replay")
  achieved=$(awk '/Rated:/ { for (i = 1; i < NF; i++) if ($(i+1) ~ /^pps/) print $i }' "$work/replay" | head -1)
  line=$(grep 'capture total:' "$work/live.err" || true)
  read_=$(echo "$line" | sed -E 's/.*total: ([0-9,]+) frame.*/\1/' | tr -d ,)
  drops=$(echo "$line" | sed -E 's/.*, ([0-9,]+) dropped by the kernel.*/\1/' | tr -d ,)
  printf '  requested %-8s achieved %10s pps: sent %s, read %s, kernel drops %s\n' "$pps" "${achieved%.*}" "$sent" "$read_" "$drops"
  if [ "$drops" = 0 ] && [ "$read_" = "$sent" ]; then
    a=${achieved%.*}; [ "${a:-0}" -gt "$best" ] && best=$a
  else
    break
  fi
done
echo "live: highest tcpreplay rate without loss: $(group "$best") packets/s"
