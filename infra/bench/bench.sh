#!/usr/bin/env bash
# The benchmark command: the queue's own overhead through real processes (a KRaft broker, one gateway,
# workers of the simulated model), on loopback. See docs/benchmarks.md.
#   infra/bench/bench.sh [--quick] [--scenarios idle,drain,batch,submit,scale,hol,abuse,floor,status] [--out bench-results.json]
# (status and floor run only when named: see docs/benchmarks.md)
# Builds the jars and infra's test classes in this checkout (mvn package, nothing installed into ~/.m2),
# then runs io.diffq.system.Bench. BENCH_SKIP_BUILD=1 uses what is already built; BENCH_MVN_ARGS (e.g. -o)
# go to that mvn; BENCH_CLIENT_JVM_ARGS go to the bench's own JVM (its clients), e.g. -Xlog:gc:file=/tmp/client-gc.log.
set -euo pipefail
ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd -P)"
cd "$ROOT"
CP_FILE="$ROOT/infra/target/bench.classpath"
if [[ "${BENCH_SKIP_BUILD:-0}" != 1 || ! -f "$CP_FILE" ]]; then
  echo "bench: building (mvn package -DskipTests)..." >&2
  # One reactor run, so common's test-jar and the service jars resolve to this checkout's target dirs.
  mvn -B -q -Dstyle.color=never ${BENCH_MVN_ARGS:-} package -DskipTests dependency:build-classpath -Dmdep.includeScope=test \
    -Dmdep.outputFile=target/bench.classpath
fi
exec java -Xmx3g ${BENCH_CLIENT_JVM_ARGS:-} -Ddiffq.root="$ROOT" -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
  -Dorg.slf4j.simpleLogger.log.org.apache.kafka=error \
  -cp "infra/target/test-classes:$(cat "$CP_FILE")" io.diffq.system.Bench "$@"
