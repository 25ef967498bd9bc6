#!/usr/bin/env bash
# bench/peers.sh: the throughput scenarios run with provision and, where
# installed, aria2c, axel and curl, against the same loopback simulator
# ("provision sim" in its own process, so only the client's CPU and memory
# are measured). Each figure is the median of REPEAT runs (default 3).
# Output goes to RAM (/dev/shm); a markdown table is printed at the end.
#
#   make bench-peers                  # or: bench/peers.sh [scenario...]
#   INSTALL=1 bench/peers.sh          # apt-get install aria2 axel first
#   REPEAT=5 bench/peers.sh cdn raw   # scenarios: cdn raw many faults-fin
#                                     # faults-rst memory
#
# Only loopback addresses are contacted. The product runs "provision bench
# --url ... --size N" (the real engine + store path, size checked, no
# sha256 since the peers hash nothing; verification's cost is measured by
# "provision bench" itself, see README).
set -euo pipefail

cd "$(dirname "$0")/.."
BIN=${BIN:-bin/provision}
REPEAT=${REPEAT:-3}
CONNS=16
OUT=${OUT:-/dev/shm/provision-peers}
[ -d /dev/shm ] || OUT=${TMPDIR:-/tmp}/provision-peers
SCENARIOS=("$@")
[ ${#SCENARIOS[@]} -gt 0 ] || SCENARIOS=(cdn raw many faults-fin faults-rst memory)

if [ "${INSTALL:-0}" = 1 ] && command -v apt-get >/dev/null; then
	apt-get update -qq && apt-get install -y -qq aria2 axel time >/dev/null
fi
[ -x /usr/bin/time ] || { echo "peers.sh needs /usr/bin/time (Debian: time)" >&2; exit 1; }
make -s build
mkdir -p "$OUT"
RES=$(mktemp "$OUT/results.XXXXXX")
SIMLOG=$(mktemp "$OUT/sim.XXXXXX")
SIMPID=
cleanup() {
	stopsim
	rm -rf "$OUT/run" "$SIMLOG"
}
trap cleanup EXIT

stopsim() {
	if [ -n "$SIMPID" ]; then
		# A simulator that does not end within 5 s of SIGTERM is killed.
		kill "$SIMPID" 2>/dev/null || true
		for _ in $(seq 50); do kill -0 "$SIMPID" 2>/dev/null || break; sleep 0.1; done
		kill -9 "$SIMPID" 2>/dev/null || true
		wait "$SIMPID" 2>/dev/null || true
	fi
	SIMPID=
}

# sim KNOBS...: serve the bench files with these knobs; sets URLS, SHAS.
sim() {
	stopsim
	"$BIN" sim "$@" >"$SIMLOG" &
	SIMPID=$!
	for _ in $(seq 600); do
		grep -q '^# serving' "$SIMLOG" && break
		sleep 0.1
	done
	URLS=($(awk '$1=="#" && $2=="file" {print $3}' "$SIMLOG"))
	SHAS=($(awk '$1=="#" && $2=="file" {print $5}' "$SIMLOG"))
}


# measure SCENARIO TOOL BYTES CMD...: runs CMD REPEAT times in a fresh
# folder $OUT/run (cwd), and records "scenario tool wall cpu rss_kib ok
# refetched bytes" for each run. ok is 1 when the command succeeded (and,
# when SHAS is set, every output file has the expected sha256).
measure() {
	local scen=$1 tool=$2 bytes=$3
	shift 3
	for _ in $(seq "$REPEAT"); do
		rm -rf "$OUT/run" && mkdir -p "$OUT/run"
		local tf ok=1 log
		tf=$(mktemp "$OUT/time.XXXXXX")
		log=$(mktemp "$OUT/log.XXXXXX")
		(cd "$OUT/run" && /usr/bin/time -f '%e %U %S %M' -o "$tf" "$@") >"$log" 2>&1 || ok=0
		if [ "$ok" = 1 ] && [ "${CHECK:-0}" = 1 ]; then
			# Output files, in URL order, must hash as served (outside the
			# timing, for every tool alike; provision names them N-NAME).
			local i=0 f
			for u in "${URLS[@]}"; do
				f="$OUT/run/$(basename "$u")"
				[ "$tool" = provision ] && f="$OUT/run/$i-$(basename "$u")"
				if [ ! -f "$f" ] || [ "$(sha256sum <"$f" | cut -d' ' -f1)" != "${SHAS[$i]}" ]; then
					ok=0
				fi
				i=$((i + 1))
			done
		fi
		local refetch=0
		if [ "$tool" = provision ]; then
			refetch=$(awk '/^BENCH/ {for (i=2;i<=NF;i++) {split($i,a,"="); v[a[1]]=a[2]}
				print v["fetched"]-v["bytes"]}' "$log")
			[ -n "$refetch" ] || ok=0
		fi
		[ "$ok" = 1 ] || { echo "  $tool failed:" >&2; tail -3 "$log" >&2; }
		# GNU time puts "Command exited with ..." before the figures on failure.
		read -r wall user sys rss < <(tail -1 "$tf") || true
		[[ "$wall" =~ ^[0-9.]+$ ]] || { wall=0; user=0; sys=0; rss=0; ok=0; }
		echo "$scen $tool $wall $(echo "$user + $sys" | bc) $rss $ok ${refetch:-0} $bytes" >>"$RES"
		echo "  $scen $tool: ${wall}s cpu $(echo "$user + $sys" | bc)s rss ${rss}KiB ok=$ok" >&2
		rm -f "$tf" "$log"
	done
	rm -rf "$OUT/run"
}

have() { command -v "$1" >/dev/null; }

# single SCENARIO BYTES: the single-file tools on URLS[0].
single() {
	local scen=$1 bytes=$2 u=${URLS[0]}
	measure "$scen" provision "$bytes" "$PWD/$BIN" bench --url "$u" --size "$bytes" \
		--connections $CONNS --dir .
	if have aria2c; then
		measure "$scen" aria2c "$bytes" aria2c -q -x$CONNS -s$CONNS -k1M \
			--file-allocation=none --allow-overwrite=true --auto-file-renaming=false "$u"
	fi
	if have axel; then
		measure "$scen" axel "$bytes" axel -q -n $CONNS -o "$(basename "$u")" "$u"
	fi
}

GiB=$((1 << 30))
MiB=$((1 << 20))
declare -A LIMIT
for scen in "${SCENARIOS[@]}"; do
	echo "== $scen" >&2
	CHECK=0
	case $scen in
	cdn)
		sim --size=$((2 * GiB)) --conn-rate=25000000 --latency=20ms
		LIMIT[$scen]=$(echo "scale=2; 2*$GiB/(16*25000000)" | bc)
		single cdn $((2 * GiB))
		;;
	raw)
		sim --size=$((2 * GiB))
		LIMIT[$scen]="copy"
		single raw $((2 * GiB))
		if have curl; then
			measure raw curl $((2 * GiB)) curl -s -o "$(basename "${URLS[0]}")" "${URLS[0]}"
		fi
		;;
	many)
		sim --size=$((16 * MiB)) --files=40 --conn-rate=25000000 --latency=30ms
		LIMIT[$scen]=$(echo "scale=2; 40*16*$MiB/(16*25000000)" | bc)
		args=()
		for u in "${URLS[@]}"; do args+=(--url "$u"); done
		measure many provision $((40 * 16 * MiB)) "$PWD/$BIN" bench "${args[@]}" \
			--size $((16 * MiB)) --connections $CONNS --dir .
		if have aria2c; then
			printf '%s\n' "${URLS[@]}" >"$OUT/many.txt"
			measure many aria2c $((40 * 16 * MiB)) aria2c -q -j$CONNS -i "$OUT/many.txt" \
				--file-allocation=none --allow-overwrite=true --auto-file-renaming=false
		fi
		;;
	faults-fin | faults-rst)
		reset=()
		[ "$scen" = faults-rst ] && reset=(--drop-reset)
		sim --size=$GiB --conn-rate=50000000 --drop-every=$((64 * MiB)) "${reset[@]}" --digest
		LIMIT[$scen]=$(echo "scale=2; $GiB/(16*50000000)" | bc)
		CHECK=1
		measure "$scen" provision $GiB "$PWD/$BIN" bench --url "${URLS[0]}" --size $GiB \
			--connections $CONNS --dir .
		if have aria2c; then
			measure "$scen" aria2c $GiB aria2c -q -x$CONNS -s$CONNS -k1M \
				--file-allocation=none --allow-overwrite=true --auto-file-renaming=false \
				"${URLS[0]}"
		fi
		if have axel; then
			measure "$scen" axel $GiB axel -q -n $CONNS -o "$(basename "${URLS[0]}")" "${URLS[0]}"
		fi
		;;
	memory)
		for sz in 1 4; do
			sim --size=$((sz * GiB))
			LIMIT[memory-${sz}GiB]="-"
			single "memory-${sz}GiB" $((sz * GiB))
		done
		;;
	*) echo "unknown scenario $scen" >&2; exit 2 ;;
	esac
	stopsim
done

# The table: per scenario and tool, the median wall time, CPU-s per GiB and
# peak RSS over runs; failed runs are counted. Ratios are provision's wall
# time over each peer's (below 1: provision is faster).
echo
echo "bench/peers.sh, $(date -u +%Y-%m-%d), $(nproc) cores, REPEAT=$REPEAT, output in $OUT"
echo
awk -v limits="$(for k in "${!LIMIT[@]}"; do echo -n "$k=${LIMIT[$k]} "; done)" '
function median(list,   n, a, i, j, t) {
	n = split(list, a, " ")
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
	return a[int((n + 1) / 2)]
}
BEGIN { split(limits, L, " "); for (i in L) { split(L[i], kv, "="); lim[kv[1]] = kv[2] } }
{
	key = $1 SUBSEP $2
	if (!(key in seen)) { seen[key] = 1; order[$1] = order[$1] " " $2 }
	if (!($1 in sseen)) { sseen[$1] = 1; scen[++ns] = $1 }
	runs[key]++
	if ($6 == 1) { wall[key] = wall[key] " " $3; cpu[key] = cpu[key] " " $4; rss[key] = rss[key] " " $5
		ref[key] = ref[key] " " $7; okn[key]++ }
	bytes[$1] = $8
}
END {
	printf "| scenario | limit | tool | wall s | provision ÷ tool | CPU-s/GiB | peak RSS MiB | fetched twice | ok |\n"
	printf "|---|---|---|---|---|---|---|---|---|\n"
	for (s = 1; s <= ns; s++) {
		sc = scen[s]; pk = sc SUBSEP "provision"
		pw = (pk in okn) ? median(wall[pk]) : 0
		n = split(order[sc], tools, " ")
		for (t = 1; t <= n; t++) {
			k = sc SUBSEP tools[t]
			l = (sc in lim) ? lim[sc] : "-"
			if (!(k in okn)) { printf "| %s | %s | %s | failed | - | - | - | - | 0/%d |\n", sc, l, tools[t], runs[k]; continue }
			w = median(wall[k]); c = median(cpu[k]); r = median(rss[k])
			ratio = (pw > 0 && w > 0) ? sprintf("%.2f", pw / w) : "-"
			fr = (tools[t] == "provision") ? sprintf("%.2f %%", 100 * median(ref[k]) / bytes[sc]) : "n/a"
			printf "| %s | %s | %s | %.2f | %s | %.2f | %.1f | %s | %d/%d |\n", sc, l, tools[t], w, ratio,
				c / (bytes[sc] / 1073741824), r / 1024, fr, okn[k], runs[k]
		}
	}
}' "$RES"
