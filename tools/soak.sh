#!/usr/bin/env bash
# tools/soak.sh BINARY SECONDS OUT_DIR — a bounded, low-rate soak of `vkbridge serve` on
# loopback (issue 18's proof): a tiny generated model on the CPU backend; h2load drives
# /embed (h2c), /health, /info, /status, /v1/models and /metrics (h2c) and /embed over
# HTTP/1.1, each client at a fixed request rate, for SECONDS; the server's RSS is sampled
# every 30 s into OUT_DIR/rss.csv and h2load's summaries go to OUT_DIR/h2load-*.txt.
set -uo pipefail
BIN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
SECS=$2
OUT=$3
mkdir -p "$OUT/models"
"$BIN" gen-model --out "$OUT/models/tiny" --shape tiny >/dev/null
PORT=$((20000 + RANDOM % 20000))
# 8 slots: on a shared machine a stall of a second would otherwise turn into "GPU busy" 503s
VKB_MODEL_DIR=$OUT/models MODEL_EMBED=tiny MODEL_BERTSCORE= GPU_MAX_CONCURRENT=${SOAK_SLOTS:-8} \
    "$BIN" serve --device cpu \
    --port $PORT --log-level warn > "$OUT/serve.out" 2> "$OUT/serve.err" &
SRV=$!
trap 'kill $SRV 2>/dev/null' EXIT
for i in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done
printf '{"texts":["the quick brown fox","jumps over the lazy dog","%s"]}' "soak" > "$OUT/embed.json"
U="http://127.0.0.1:$PORT"
h2load -D "$SECS" -c 2 -m 4 --rps 40 -d "$OUT/embed.json" -H 'content-type: application/json' \
    "$U/embed" > "$OUT/h2load-embed-h2c.txt" 2>&1 &
A=$!
h2load -D "$SECS" -c 2 --h1 --rps 20 -d "$OUT/embed.json" -H 'content-type: application/json' \
    "$U/embed" > "$OUT/h2load-embed-h1.txt" 2>&1 &
B=$!
h2load -D "$SECS" -c 2 -m 4 --rps 40 "$U/health" "$U/info" "$U/status" "$U/v1/models" \
    "$U/metrics" > "$OUT/h2load-get-h2c.txt" 2>&1 &
C=$!
echo "seconds,rss_kb" > "$OUT/rss.csv"
T0=$(date +%s)
while kill -0 $A 2>/dev/null || kill -0 $B 2>/dev/null || kill -0 $C 2>/dev/null; do
    echo "$(( $(date +%s) - T0 )),$(awk '/VmRSS/ {print $2}' /proc/$SRV/status)" >> "$OUT/rss.csv"
    sleep 30
done
echo "$(( $(date +%s) - T0 )),$(awk '/VmRSS/ {print $2}' /proc/$SRV/status)" >> "$OUT/rss.csv"
curl -s "$U/metrics" > "$OUT/metrics.txt"
kill -TERM $SRV
wait $SRV
echo "serve exit $?" >> "$OUT/rss.csv"
grep -h "requests:\|status codes:" "$OUT"/h2load-*.txt
grep -h "rejected_busy_total \|status=\"5" "$OUT/metrics.txt"
