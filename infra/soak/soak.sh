#!/usr/bin/env bash
# The soak command: N jobs over M minutes through real processes with workers joining and leaving.
#   infra/soak/soak.sh --jobs 10000 --minutes 10 [--latency-ms 20] [--max-workers 3] [--out soak-results.json]
# Builds what it needs (jars, test classes), then runs io.diffq.system.Soak. Exit status 1 when a job was
# lost or ended in two different terminal states.
set -euo pipefail
ROOT="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd -P)"
cd "$ROOT"
echo "soak: building (mvn install -DskipTests)..." >&2
mvn -B -q install -DskipTests
mvn -B -q -pl infra dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile="$ROOT/infra/target/soak.classpath"
exec java -Xmx1g -Ddiffq.root="$ROOT" -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "infra/target/test-classes:$(cat infra/target/soak.classpath)" io.diffq.system.Soak "$@"
