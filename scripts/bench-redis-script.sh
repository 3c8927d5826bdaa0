#!/usr/bin/env bash
# What one usage decision costs Redis itself: the Redis store's throttle-and-quota script, as
# written in gateway/src/usage/store/redis.rs at each git revision given (default: the working
# tree), loaded into a Redis of its own and run by redis-benchmark (pipelined, 8 connections);
# Redis's own `usec_per_call` for EVALSHA is the figure. With several replicas sharing one Redis,
# this is what bounds the decisions per second they can make together.
# Bounded: REQUESTS calls per revision; the Redis started here is stopped on exit.
#
#   scripts/bench-redis-script.sh                 # the working tree
#   scripts/bench-redis-script.sh 1549531 HEAD    # two revisions, one after the other
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/lib.sh
. scripts/lib.sh
need redis-server redis-server
REQUESTS=${REQUESTS:-200000}
PORT=18099
redis-server --port $PORT --bind 127.0.0.1 --save '' --appendonly no >/dev/null &
REDIS_PID=$!
trap 'kill $REDIS_PID 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do redis-cli -p $PORT ping >/dev/null 2>&1 && break; sleep 0.1; done

# The script's Lua, from redis.rs on stdin: the shared functions of `lua_functions!` and the body
# of TAKE_AND_COUNT.
LUA_OF='
import re, sys
src = sys.stdin.read()
functions = re.search(r"r#\"(.*?)\"#", src, re.S).group(1)
body = re.search(r"const TAKE_AND_COUNT: &str = concat!\(\s*lua_functions!\(\),(.*?)\);", src, re.S).group(1)
lines = re.findall(r"\"((?:[^\"\\]|\\.)*)\"", body)
print(functions + "".join(l.replace("\\n", "\n").replace("\\\"", "\"") for l in lines))
'

NOW=$(date +%s.%N)
echo "| revision | EVALSHA µs per call (Redis's own) | calls per second (redis-benchmark) |"
echo "|---|---|---|"
for rev in "${@:-worktree}"; do
    if [ "$rev" = worktree ]; then
        lua=$(python3 -c "$LUA_OF" <gateway/src/usage/store/redis.rs)
    else
        lua=$(git show "$rev:gateway/src/usage/store/redis.rs" | python3 -c "$LUA_OF")
    fi
    sha=$(redis-cli -p $PORT script load "$lua")
    redis-cli -p $PORT flushall >/dev/null
    redis-cli -p $PORT config resetstat >/dev/null
    # A generous bucket and quota, as scripts/bench-usage.sh's plan: every call should be admitted.
    rps=$(redis-benchmark -p $PORT -n "$REQUESTS" -c 8 -P 16 -q \
        EVALSHA "$sha" 2 bucket counter 1000000 1000000 "$NOW" 100000000 1900000000 2>/dev/null \
        | tr '\r' '\n' | grep -o '[0-9.]* requests per second' | tail -1 | cut -d' ' -f1)
    stats=$(redis-cli -p $PORT info commandstats | grep '^cmdstat_evalsha:')
    failed=$(sed 's/.*failed_calls=\([0-9]*\).*/\1/' <<<"$stats")
    [ "$failed" = 0 ] || { echo "$rev: $failed EVALSHA calls failed: $stats" >&2; exit 1; }
    # The figure counts only admitted decisions: the same call once more must still admit (1
    # before the scripts decided batches; since then {took, counted} = 1 1).
    answer=$(redis-cli -p $PORT evalsha "$sha" 2 bucket counter 1000000 1000000 "$NOW" 100000000 1900000000 | tr '\n' ' ')
    [ "$answer" = "1 " ] || [ "$answer" = "1 1 " ] || { echo "$rev: the script answered $answer, not admitted" >&2; exit 1; }
    usec=$(sed 's/.*usec_per_call=\([0-9.]*\).*/\1/' <<<"$stats")
    echo "| $rev | $usec | $rps |"
done
