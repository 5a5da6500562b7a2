#!/usr/bin/env bash
# Smoke test of the README's run command, as a newcomer meets it: a clean clone of HEAD, no AICS_
# variable set, data in ./data, default ports. Starts `make run` (scripts/run.sh), sends one order
# through `aics chat` with a picture from outside the clone, pays, waits for the result to be
# served by the API, then stops the server with Ctrl-C (SIGINT to its process group).
# Exit 0 only when every step did what it should. Run by .ci/run after the test command.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/aics-smoke.XXXXXX")"
SERVER_PID=""

say() { printf 'smoke: %s\n' "$*" >&2; }
fail() {
  say "FAILED: $*"
  if [ -f "$WORK/serve.log" ]; then
    say "last lines of the server's output:"
    tail -n 40 "$WORK/serve.log" >&2 || true
  fi
  exit 1
}
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM -- "-$SERVER_PID" 2>/dev/null || true
    sleep 2
    kill -KILL -- "-$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

for name in $(compgen -e); do
  case "$name" in AICS_*) unset "$name" ;; esac
done

for port in 6060 8005; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    fail "port $port is already taken on this machine; the smoke test needs the defaults"
  fi
done

say "clean clone of HEAD into $WORK/shop"
git clone -q "$ROOT" "$WORK/shop"
cd "$WORK/shop"

say "starting the README's run command (make run)"
setsid bash scripts/run.sh >"$WORK/serve.log" 2>&1 </dev/null &
SERVER_PID=$!

for _ in $(seq 1 600); do
  if curl -fsS -o /dev/null http://127.0.0.1:6060/healthz 2>/dev/null; then break; fi
  kill -0 "$SERVER_PID" 2>/dev/null || fail "the run command exited before the API answered"
  sleep 0.5
done
curl -fsS -o /dev/null http://127.0.0.1:6060/healthz || fail "the API did not answer within 300 s"
for _ in $(seq 1 20); do
  grep -q "staff console    http://127.0.0.1:6060/console/" "$WORK/serve.log" && break
  sleep 0.5
done
grep -q "staff console    http://127.0.0.1:6060/console/" "$WORK/serve.log" \
  || fail "the banner does not name the console URL"
say "the API answers; the banner names the console"

AICS="$WORK/shop/.venv/bin/aics"
"$WORK/shop/.venv/bin/python" - "$WORK/photo.jpg" <<'PY'
import sys
from PIL import Image, ImageDraw
img = Image.new("RGB", (640, 480), (236, 236, 232))
draw = ImageDraw.Draw(img)
draw.rounded_rectangle((200, 120, 440, 360), radius=40, fill=(196, 40, 48))
draw.ellipse((280, 170, 360, 250), fill=(250, 210, 70))
img.save(sys.argv[1], quality=92)
PY

say "a customer chats: picture, then /pay"
printf '/image %s 你好，帮我把背景抠掉\n/pay\n' "$WORK/photo.jpg" \
  | "$AICS" chat --customer smoke_buyer >"$WORK/chat.out" 2>"$WORK/chat.err" \
  || { cat "$WORK/chat.out" "$WORK/chat.err" >&2; fail "aics chat exited non-zero"; }
cat "$WORK/chat.out" >&2
grep -q "订单号 TASK_" "$WORK/chat.out" || fail "no quote with an order number in the chat"
grep -q "已收到您的付款" "$WORK/chat.out" || fail "the payment was not acknowledged in the chat"
grep -q "已处理完成" "$WORK/chat.out" || fail "the result never reached the chat"
! grep -q "Traceback" "$WORK/chat.err" || fail "aics chat printed a traceback"

link="$(grep -o 'http://127.0.0.1:6060/r/[A-Za-z0-9_-]*' "$WORK/chat.out" | head -n 1)"
[ -n "$link" ] || fail "the chat gave no download link although the API runs"
curl -fsS -o "$WORK/result.png" "$link" || fail "the download link $link does not serve the result"

task_id="$(grep -o 'TASK_[0-9]*_[0-9]*' "$WORK/chat.out" | head -n 1)"
key="$("$AICS" keys create --name smoke --scope staff | grep -o 'aics_[A-Za-z0-9_-]*' | head -n 1)"
[ -n "$key" ] || fail "aics keys create printed no key"
for what in result original; do
  code="$(curl -sS -o "$WORK/$what.bin" -w '%{http_code}' -H "Authorization: Bearer $key" \
    "http://127.0.0.1:6060/api/v1/tasks/$task_id/$what")"
  [ "$code" = "200" ] || fail "GET /api/v1/tasks/$task_id/$what answered $code"
done
status="$(curl -fsS -H "Authorization: Bearer $key" "http://127.0.0.1:6060/api/v1/tasks/$task_id" \
  | "$WORK/shop/.venv/bin/python" -c 'import json,sys; t=json.load(sys.stdin); print(t["status"], t["error_message"])')"
[ "$status" = "awaiting_confirm None" ] || fail "task $task_id is '$status', not awaiting_confirm without error"
say "task $task_id: awaiting_confirm, result and original served by the API"

say "Ctrl-C"
kill -INT -- "-$SERVER_PID"
rc=0
for _ in $(seq 1 120); do
  kill -0 "$SERVER_PID" 2>/dev/null || break
  sleep 0.5
done
if kill -0 "$SERVER_PID" 2>/dev/null; then fail "the server did not stop within 60 s of Ctrl-C"; fi
wait "$SERVER_PID" || rc=$?
SERVER_PID=""
grep -q "ai-cs stopped" "$WORK/serve.log" || fail "the server did not say it stopped (exit $rc)"
! grep -q "Traceback" "$WORK/serve.log" || fail "the server printed a traceback"
[ "$rc" = "0" ] || fail "the server exited with $rc after Ctrl-C"
say "passed: default install took an order from chat to a served result"
