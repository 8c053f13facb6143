#!/usr/bin/env bash
# Load through `tollgate serve` against tollgate-mock, versus straight to the
# mock, versus through Portkey's gateway (npm @portkey-ai/gateway, pinned in
# bench/portkey/) to the same mock: wrk on loopback at 1 and at 32
# connections, a warm-up before every measured run. Prints a table of p50/p99
# latency and requests/s, the latency each gateway adds, the throughput
# ratios, tollgate serve's peak RSS, and each target of issue #6 as met or not.
#
#   bench/gateway_load.sh                 # 10 s per measured run
#   DURATION=30s WARMUP=5s bench/gateway_load.sh
#
# Environment (all optional):
#   BUILD_DIR        release build directory (default: build/); tollgate_cli and
#                    tollgate-mock are built there if missing
#   DURATION WARMUP  wrk durations (default 10s and 3s)
#   MOCK_THREADS SERVE_THREADS   server I/O threads (default 1 and 1); serve's
#                    engine runs on its I/O threads
#   ENGINE_THREADS   give serve's engine threads of its own (--engine-threads)
#   BUSY_POLL_US     also measure a second serve with --busy-poll-us this value
#                    (default 1000; 0 skips it)
#   NGINX            nginx binary for a reference run: nginx as a plain reverse
#                    proxy (no keys, policy, ledger or JSON) in front of the
#                    same mock, on the gateway's CPU (default: nginx on PATH;
#                    empty or missing skips it; Debian package nginx-light)
#   CPU_WRK CPU_MOCK CPU_GATEWAY   taskset CPU lists (default 0, 0 and 1: wrk
#                    and the mock, the world outside the gateway, share CPU 0;
#                    the gateway under test, tollgate serve or Portkey, has CPU 1
#                    to itself). Empty: the scheduler places that process.
#
# Every answer must be a 200 (counted by bench/gateway_load.lua): any other
# status, socket error or timeout fails the run. Every process started here
# is stopped on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-3s}
MOCK_THREADS=${MOCK_THREADS:-1}
SERVE_THREADS=${SERVE_THREADS:-1}
ENGINE_THREADS=${ENGINE_THREADS:-}
BUSY_POLL_US=${BUSY_POLL_US:-1000}
NGINX=${NGINX-$(command -v nginx || true)}
CPU_WRK=${CPU_WRK-0}
CPU_MOCK=${CPU_MOCK-0}
CPU_GATEWAY=${CPU_GATEWAY-1}
LUA=$ROOT/bench/gateway_load.lua
PORTKEY_DIR=$ROOT/bench/portkey
KEY=tg-bench-key

die() { echo "gateway_load: $*" >&2; exit 1; }
for tool in wrk node npm curl awk; do
  command -v "$tool" >/dev/null || die "needs '$tool' on PATH (wrk: apt-get install wrk; node/npm: nodejs 20+)"
done

# Command prefixes that pin to those CPUs. A prefix, not a function: `&` on
# a function forks a subshell, and $! would be the shell, not the server.
ON_WRK=(); ON_MOCK=(); ON_GATEWAY=()
[[ -n $CPU_WRK ]] && ON_WRK=(taskset -c "$CPU_WRK")
[[ -n $CPU_MOCK ]] && ON_MOCK=(taskset -c "$CPU_MOCK")
[[ -n $CPU_GATEWAY ]] && ON_GATEWAY=(taskset -c "$CPU_GATEWAY")

# --- binaries and Portkey -------------------------------------------------
TOLLGATE=$BUILD_DIR/tools/tollgate
MOCK=$BUILD_DIR/mock/tollgate-mock
if [[ ! -x $TOLLGATE || ! -x $MOCK ]]; then
  [[ -f $BUILD_DIR/CMakeCache.txt ]] || cmake -S "$ROOT" -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
  cmake --build "$BUILD_DIR" --target tollgate_cli tollgate-mock -j2
fi
grep -q 'CMAKE_BUILD_TYPE:STRING=\(Release\|RelWithDebInfo\)' "$BUILD_DIR/CMakeCache.txt" ||
  die "$BUILD_DIR is not a release build (CMAKE_BUILD_TYPE Release or RelWithDebInfo)"
PORTKEY_VERSION=$(node -p "require('$PORTKEY_DIR/package.json').dependencies['@portkey-ai/gateway']")
if [[ ! -f $PORTKEY_DIR/node_modules/@portkey-ai/gateway/package.json ]] ||
   [[ $(node -p "require('$PORTKEY_DIR/node_modules/@portkey-ai/gateway/package.json').version") != "$PORTKEY_VERSION" ]]; then
  npm ci --prefix "$PORTKEY_DIR" --no-audit --no-fund --ignore-scripts >&2
fi

# --- processes ------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tollgate-gateway-load.XXXXXX")
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_for WHAT DEADLINE_S COMMAND...: polls the command until it succeeds.
wait_for() {
  local what=$1 deadline=$((SECONDS + $2)); shift 2
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "timed out waiting for $what"
    sleep 0.05
  done
}

# The URL a server prints as "listening on URL" on its stdout.
listening_url() { sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$1" | head -n1; }
has_url() { [[ -n $(listening_url "$1") ]]; }

free_port() {
  node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}

"${ON_MOCK[@]}" "$MOCK" --port 0 --threads "$MOCK_THREADS" >"$WORK/mock.out" 2>"$WORK/mock.err" &
PIDS+=($!)
wait_for "tollgate-mock to listen (see $WORK/mock.err)" 20 has_url "$WORK/mock.out"
MOCK_URL=$(listening_url "$WORK/mock.out")          # http://127.0.0.1:PORT/v1
MOCK_PORT=${MOCK_URL##*:}; MOCK_PORT=${MOCK_PORT%%/*}

# Every request goes upstream: no cache in the policy, and the default
# catalog's gpt-4o-mini sent to the mock. The ledger is the real one, in its
# default async durability (rows commit in the background within ms).
cat >"$WORK/policy.lua" <<'EOF'
-- bench/gateway_load.sh: one route, no response cache, a team with a cap
-- large enough never to refuse, so the spend gate still runs per request.
team "bench" { daily_usd = 1000000, on_exceed = "deny" }
route "default" { try = { "gpt-4o-mini" } }
EOF
printf '{"keys": [{"key": "%s", "team": "bench", "user": "wrk"}]}\n' "$KEY" >"$WORK/keys.json"
# start_serve NAME [FLAG...]: tollgate serve in front of the mock with its
# own ledger ($WORK/NAME.db) and output ($WORK/NAME.out, .err); sets
# SERVED_PID and SERVED_URL. The `&` is on the command inside, so $! is serve.
start_serve() {
  local name=$1; shift
  "${ON_GATEWAY[@]}" "$TOLLGATE" serve --policy "$WORK/policy.lua" --keys "$WORK/keys.json" \
    --listen 127.0.0.1:0 --upstream "*=$MOCK_URL" --threads "$SERVE_THREADS" ${ENGINE_THREADS:+--engine-threads "$ENGINE_THREADS"} \
    --log off --ledger "$WORK/$name.db" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  SERVED_PID=$!
  PIDS+=("$SERVED_PID")
  wait_for "tollgate serve ($name) to listen (see $WORK/$name.err)" 30 has_url "$WORK/$name.out"
  SERVED_URL=$(listening_url "$WORK/$name.out")
}
start_serve serve
SERVE_PID=$SERVED_PID SERVE_URL=$SERVED_URL
# The same gateway with its I/O thread polling for BUSY_POLL_US after each
# event instead of sleeping at once (idle while the other is measured).
if ((BUSY_POLL_US > 0)); then
  start_serve poll --busy-poll-us "$BUSY_POLL_US"
  POLL_URL=$SERVED_URL
fi

# The reference: nginx proxying to the mock over kept-alive connections,
# one worker on the gateway's CPU, no access log. It does only what every
# gateway must (two HTTP hops, two sockets' kernel work), so its figures are
# the floor this machine sets under any gateway in this placement.
if [[ -n $NGINX ]]; then
  NGINX_PORT=$(free_port)
  mkdir -p "$WORK/nginx"
  cat >"$WORK/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
master_process off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx/body;
  proxy_temp_path $WORK/nginx/proxy;
  fastcgi_temp_path $WORK/nginx/fastcgi;
  uwsgi_temp_path $WORK/nginx/uwsgi;
  scgi_temp_path $WORK/nginx/scgi;
  upstream mock { server 127.0.0.1:$MOCK_PORT; keepalive 64; }
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location / {
      proxy_pass http://mock;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
EOF
  "${ON_GATEWAY[@]}" "$NGINX" -p "$WORK/nginx" -e "$WORK/nginx/error.log" -c "$WORK/nginx/nginx.conf" >"$WORK/nginx.out" 2>"$WORK/nginx.err" &
  NGINX_PID=$!
  PIDS+=("$NGINX_PID")
  NGINX_URL=http://127.0.0.1:$NGINX_PORT
  wait_for "nginx to listen (see $WORK/nginx.err, $WORK/nginx/error.log)" 20 curl -s -o /dev/null "$NGINX_URL/"
fi

PORTKEY_PORT=$(free_port)
PORTKEY_CMD=(node "$PORTKEY_DIR/node_modules/@portkey-ai/gateway/build/start-server.js" "--port=$PORTKEY_PORT" --headless)
NODE_ENV=production "${ON_GATEWAY[@]}" "${PORTKEY_CMD[@]}" >"$WORK/portkey.out" 2>"$WORK/portkey.err" &
PORTKEY_PID=$!
PIDS+=("$PORTKEY_PID")
PORTKEY_URL=http://127.0.0.1:$PORTKEY_PORT
wait_for "Portkey to answer on $PORTKEY_URL (see $WORK/portkey.err)" 60 curl -sf "$PORTKEY_URL/"
# Portkey's OpenAI provider with a custom host: it posts to
# <x-portkey-custom-host>/chat/completions (getFullURL = customHost + the
# provider's endpoint path) and 127.0.0.1 is in its default trusted hosts.
PORTKEY_HEADERS="x-portkey-provider: openai|x-portkey-custom-host: $MOCK_URL"

# One request through each path by curl first: a 200 whose body came from the mock.
check_path() {  # check_path NAME URL [HEADER...]
  local name=$1 url=$2; shift 2
  local args=(-s -o "$WORK/check.body" -w '%{http_code}' -H 'Content-Type: application/json' -H "Authorization: Bearer $KEY")
  local h; for h in "$@"; do args+=(-H "$h"); done
  local code
  code=$(curl "${args[@]}" --data '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}' "$url/chat/completions")
  [[ $code == 200 ]] && grep -q '"id": *"mock-' "$WORK/check.body" ||
    die "$name: expected a 200 from the mock, got $code: $(head -c 400 "$WORK/check.body")"
}
check_path direct "$MOCK_URL"
check_path "tollgate serve" "$SERVE_URL/v1"
((BUSY_POLL_US > 0)) && check_path "tollgate serve --busy-poll-us" "$POLL_URL/v1"
[[ -n $NGINX ]] && check_path nginx "$NGINX_URL/v1"
check_path Portkey "$PORTKEY_URL/v1" "x-portkey-provider: openai" "x-portkey-custom-host: $MOCK_URL"

# --- load -----------------------------------------------------------------
# run_wrk LABEL CONNS URL [HEADERS]: warm-up, then the measured run; sets
# R_<label>_<conns>_{rps,p50,p99}.
run_wrk() {
  local label=$1 conns=$2 url=$3 headers=${4:-}
  local args=(-t1 -c"$conns" --latency -s "$LUA" "$url/chat/completions")
  BENCH_KEY=$KEY BENCH_HEADERS=$headers "${ON_WRK[@]}" wrk -d"$WARMUP" "${args[@]}" >"$WORK/warm.out" 2>&1 ||
    die "wrk warm-up failed: $(cat "$WORK/warm.out")"
  BENCH_KEY=$KEY BENCH_HEADERS=$headers "${ON_WRK[@]}" wrk -d"$DURATION" "${args[@]}" >"$WORK/wrk.out" 2>&1 ||
    die "wrk failed: $(cat "$WORK/wrk.out")"
  local line
  line=$(grep '^BENCH ' "$WORK/wrk.out") || die "no BENCH line from wrk: $(cat "$WORK/wrk.out")"
  local non200 errors
  non200=$(sed 's/.*non200=\([0-9]*\).*/\1/' <<<"$line")
  errors=$(sed 's/.*errors=\([0-9]*\).*/\1/' <<<"$line")
  if [[ $non200 != 0 || $errors != 0 ]]; then
    cat "$WORK/wrk.out" >&2
    die "$label at $conns connections: $non200 answers were not 200 and $errors socket/status errors"
  fi
  printf -v "R_${label}_${conns}_rps" '%s' "$(sed 's/.*rps=\([0-9.]*\).*/\1/' <<<"$line")"
  printf -v "R_${label}_${conns}_p50" '%s' "$(sed 's/.*p50_us=\([0-9]*\).*/\1/' <<<"$line")"
  printf -v "R_${label}_${conns}_p99" '%s' "$(sed 's/.*p99_us=\([0-9]*\).*/\1/' <<<"$line")"
  echo "  $label c=$conns: $line" >&2
}

hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }

echo "load: ${DURATION} per run after ${WARMUP} warm-up; CPUs: wrk '${CPU_WRK:-any}', mock '${CPU_MOCK:-any}', gateway '${CPU_GATEWAY:-any}'" >&2
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
echo "      load average before: $LOAD_BEFORE" >&2
for conns in 1 32; do
  run_wrk direct "$conns" "$MOCK_URL"
  run_wrk serve "$conns" "$SERVE_URL/v1"
  [[ $conns == 32 ]] && SERVE_HWM_KB=$(hwm_kb "$SERVE_PID")
  ((BUSY_POLL_US > 0)) && run_wrk poll "$conns" "$POLL_URL/v1"
  run_wrk portkey "$conns" "$PORTKEY_URL/v1" "$PORTKEY_HEADERS"
  [[ -n $NGINX ]] && run_wrk nginx "$conns" "$NGINX_URL/v1"
  [[ $conns == 32 ]] && PORTKEY_HWM_KB=$(hwm_kb "$PORTKEY_PID")
done
# One connection again with serve moved onto the CPU of wrk and the mock:
# every hop is then a switch on one CPU, as in the direct run, and the added
# latency is the gateway's own work, without the wake-ups of an idle vCPU
# that the split placement adds on a VM (4 cross-CPU hops per request).
ONE_CPU=
if [[ -n $CPU_WRK && -n $CPU_GATEWAY && $CPU_WRK == "$CPU_MOCK" ]]; then
  ONE_CPU=$CPU_WRK
  taskset -apc "$ONE_CPU" "$SERVE_PID" >/dev/null
  run_wrk direct1cpu 1 "$MOCK_URL"
  run_wrk serve1cpu 1 "$SERVE_URL/v1"
  taskset -apc "$CPU_GATEWAY" "$SERVE_PID" >/dev/null
  if [[ -n $NGINX ]]; then
    taskset -apc "$ONE_CPU" "$NGINX_PID" >/dev/null
    run_wrk nginx1cpu 1 "$NGINX_URL/v1"
    taskset -apc "$CPU_GATEWAY" "$NGINX_PID" >/dev/null
  fi
fi
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# --- report ---------------------------------------------------------------
calc() { awk "BEGIN { printf \"$1\", $2 }"; }
verdict() { awk "BEGIN { print (($1) ? \"met\" : \"NOT met\") }"; }

add50_serve=$((R_serve_1_p50 - R_direct_1_p50));  add99_serve=$((R_serve_1_p99 - R_direct_1_p99))
add50_pk=$((R_portkey_1_p50 - R_direct_1_p50));   add99_pk=$((R_portkey_1_p99 - R_direct_1_p99))
# The busy-polling serve's rows and lines, each ending in a newline, or
# empty when it was skipped (an empty line would end a Markdown table).
POLL_ROW_1= POLL_ROW_32= POLL_LINE= POLL_TARGETS=
if ((BUSY_POLL_US > 0)); then
  add50_poll=$((R_poll_1_p50 - R_direct_1_p50));  add99_poll=$((R_poll_1_p99 - R_direct_1_p99))
  POLL_ROW_1="| via tollgate serve --busy-poll-us $BUSY_POLL_US | 1 | ${R_poll_1_p50} µs | ${R_poll_1_p99} µs | $(calc '%.0f' "$R_poll_1_rps") |"$'\n'
  POLL_ROW_32="| via tollgate serve --busy-poll-us $BUSY_POLL_US | 32 | ${R_poll_32_p50} µs | ${R_poll_32_p99} µs | $(calc '%.0f' "$R_poll_32_rps") |"$'\n'
  POLL_LINE="With --busy-poll-us $BUSY_POLL_US: added p50 ${add50_poll} µs, p99 ${add99_poll} µs; at 32 connections $(calc '%.2f' "$R_poll_32_rps / $R_direct_32_rps") × direct."$'\n'
  POLL_TARGETS="| added p50 at 1 conn ≤ 50 µs, --busy-poll-us $BUSY_POLL_US | ${add50_poll} µs | $(verdict "$add50_poll <= 50") |"$'\n'
  POLL_TARGETS+="| added p99 at 1 conn ≤ 500 µs, --busy-poll-us $BUSY_POLL_US | ${add99_poll} µs | $(verdict "$add99_poll <= 500") |"$'\n'
fi
NGINX_ROW_1= NGINX_ROW_32= NGINX_LINE=
if [[ -n $NGINX ]]; then
  NGINX_VERSION=$("$NGINX" -v 2>&1 | sed 's|.*nginx/||')
  NGINX_ROW_1="| reference: nginx $NGINX_VERSION plain proxy | 1 | ${R_nginx_1_p50} µs | ${R_nginx_1_p99} µs | $(calc '%.0f' "$R_nginx_1_rps") |"$'\n'
  NGINX_ROW_32="| reference: nginx $NGINX_VERSION plain proxy | 32 | ${R_nginx_32_p50} µs | ${R_nginx_32_p99} µs | $(calc '%.0f' "$R_nginx_32_rps") |"$'\n'
  NGINX_LINE="Reference, nginx as a plain reverse proxy on the gateway's CPU: added p50 $((R_nginx_1_p50 - R_direct_1_p50)) µs, p99 $((R_nginx_1_p99 - R_direct_1_p99)) µs; at 32 connections $(calc '%.2f' "$R_nginx_32_rps / $R_direct_32_rps") × direct; tollgate serve does $(calc '%.2f' "$R_serve_32_rps / $R_nginx_32_rps") × nginx's throughput."$'\n'
fi
ratio_direct=$(calc '%.2f' "$R_serve_32_rps / $R_direct_32_rps")
ratio_portkey=$(calc '%.1f' "$R_serve_32_rps / $R_portkey_32_rps")
rss_mb=$(calc '%.1f' "$SERVE_HWM_KB / 1024")
pk_rss_mb=$(calc '%.1f' "$PORTKEY_HWM_KB / 1024")

cat <<EOF

| path | conns | p50 | p99 | requests/s |
|---|---:|---:|---:|---:|
| mock direct | 1 | ${R_direct_1_p50} µs | ${R_direct_1_p99} µs | $(calc '%.0f' "$R_direct_1_rps") |
| via tollgate serve | 1 | ${R_serve_1_p50} µs | ${R_serve_1_p99} µs | $(calc '%.0f' "$R_serve_1_rps") |
${POLL_ROW_1}${NGINX_ROW_1}| via Portkey $PORTKEY_VERSION | 1 | ${R_portkey_1_p50} µs | ${R_portkey_1_p99} µs | $(calc '%.0f' "$R_portkey_1_rps") |
| mock direct | 32 | ${R_direct_32_p50} µs | ${R_direct_32_p99} µs | $(calc '%.0f' "$R_direct_32_rps") |
| via tollgate serve | 32 | ${R_serve_32_p50} µs | ${R_serve_32_p99} µs | $(calc '%.0f' "$R_serve_32_rps") |
${POLL_ROW_32}${NGINX_ROW_32}| via Portkey $PORTKEY_VERSION | 32 | ${R_portkey_32_p50} µs | ${R_portkey_32_p99} µs | $(calc '%.0f' "$R_portkey_32_rps") |

Added latency at 1 connection (gateway minus direct): tollgate serve p50 ${add50_serve} µs, p99 ${add99_serve} µs; Portkey p50 ${add50_pk} µs, p99 ${add99_pk} µs.
${POLL_LINE}${NGINX_LINE}$(if [[ -n $ONE_CPU ]]; then
  echo "One connection with serve, wrk and the mock all on CPU $ONE_CPU: direct p50 ${R_direct1cpu_1_p50} µs p99 ${R_direct1cpu_1_p99} µs; via serve p50 ${R_serve1cpu_1_p50} µs p99 ${R_serve1cpu_1_p99} µs; added p50 $((R_serve1cpu_1_p50 - R_direct1cpu_1_p50)) µs, p99 $((R_serve1cpu_1_p99 - R_direct1cpu_1_p99)) µs."
  [[ -n $NGINX ]] && echo "The same for the nginx reference: p50 ${R_nginx1cpu_1_p50} µs p99 ${R_nginx1cpu_1_p99} µs; added p50 $((R_nginx1cpu_1_p50 - R_direct1cpu_1_p50)) µs, p99 $((R_nginx1cpu_1_p99 - R_direct1cpu_1_p99)) µs."
fi)
Peak RSS (VmHWM) after the 32-connection run: tollgate serve ${rss_mb} MB, Portkey ${pk_rss_mb} MB.

| target (issue #6) | figure | |
|---|---:|---|
| added p50 at 1 conn ≤ 50 µs | ${add50_serve} µs | $(verdict "$add50_serve <= 50") |
| added p99 at 1 conn ≤ 500 µs | ${add99_serve} µs | $(verdict "$add99_serve <= 500") |
${POLL_TARGETS}| 32 conns: serve ≥ 0.5 × direct | ${ratio_direct} × | $(verdict "$R_serve_32_rps >= 0.5 * $R_direct_32_rps") |
| 32 conns: serve ≥ 15 × Portkey | ${ratio_portkey} × | $(verdict "$R_serve_32_rps >= 15 * $R_portkey_32_rps") |
| serve RSS under load ≤ 30 MB | ${rss_mb} MB | $(verdict "$SERVE_HWM_KB <= 30 * 1024") |

Threads: mock ${MOCK_THREADS}, serve I/O ${SERVE_THREADS} (engine: ${ENGINE_THREADS:-on the I/O threads}); wrk -t1. CPUs: wrk '${CPU_WRK:-any}', mock '${CPU_MOCK:-any}', gateway '${CPU_GATEWAY:-any}'. Load average before ${LOAD_BEFORE:-n/a}, after ${LOAD_AFTER}.
EOF
