#!/usr/bin/env bash
# Re-creates the JSON schemas in this folder from their sources (README.md here says which, at which
# commit). Needs git and jq. Run it only to move to other Kubernetes or operator versions; the tests
# read the files it writes and never run it.
#
#   infra/k8s/schemas/vendor.sh K8S_SCHEMAS_GIT CRDS_CATALOG_GIT
#
# K8S_SCHEMAS_GIT: a clone of a yannh/kubernetes-json-schema layout (the "standalone-strict" flavour of
# the Kubernetes OpenAPI, converted by openapi2jsonschema); CRDS_CATALOG_GIT: a clone of
# datreeio/CRDs-catalog. Files are read at HEAD of each (set K8S_REF / CRDS_REF to pin another commit).
#
# Each schema is slimmed without changing what it accepts: "description" texts and "$schema" (a
# dialect URI the validator does not know; the tests use draft 7) are dropped and the JSON is written
# compactly with sorted keys, so a re-run gives identical bytes.
set -euo pipefail

K8S_VERSION=v1.32.2
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
k8s_git="${1:?usage: vendor.sh K8S_SCHEMAS_GIT CRDS_CATALOG_GIT}"
crds_git="${2:?usage: vendor.sh K8S_SCHEMAS_GIT CRDS_CATALOG_GIT}"
k8s_ref="${K8S_REF:-HEAD}"
crds_ref="${CRDS_REF:-HEAD}"

# A description keyword is always a string; a property that happens to be called "description" is an
# object (its schema), so it stays.
slim='walk(if type == "object" then del(.["$schema"]) | (if (.description | type) == "string" then del(.description) else . end) else . end)'

# vendor REPO REF SOURCE_PATH TARGET_PATH
vendor() {
  mkdir -p "$here/$(dirname "$4")"
  git -C "$1" show "$2:$3" | jq -c -S "$slim" >"$here/$4"
  printf '%-58s %8d bytes  <- %s\n' "$4" "$(wc -c <"$here/$4")" "$3"
}

# Kubernetes (core group as "core").
vendor "$k8s_git" "$k8s_ref" "$K8S_VERSION-standalone-strict/configmap-v1.json" core/configmap_v1.json
vendor "$k8s_git" "$k8s_ref" "$K8S_VERSION-standalone-strict/service-v1.json" core/service_v1.json
vendor "$k8s_git" "$k8s_ref" "$K8S_VERSION-standalone-strict/persistentvolumeclaim-v1.json" core/persistentvolumeclaim_v1.json
vendor "$k8s_git" "$k8s_ref" "$K8S_VERSION-standalone-strict/deployment-apps-v1.json" apps/deployment_v1.json
vendor "$k8s_git" "$k8s_ref" "$K8S_VERSION-standalone-strict/statefulset-apps-v1.json" apps/statefulset_v1.json
vendor "$k8s_git" "$k8s_ref" "$K8S_VERSION-standalone-strict/poddisruptionbudget-policy-v1.json" policy/poddisruptionbudget_v1.json

# Operators' custom resources.
vendor "$crds_git" "$crds_ref" keda.sh/scaledobject_v1alpha1.json keda.sh/scaledobject_v1alpha1.json
vendor "$crds_git" "$crds_ref" monitoring.coreos.com/podmonitor_v1.json monitoring.coreos.com/podmonitor_v1.json
vendor "$crds_git" "$crds_ref" monitoring.coreos.com/prometheusrule_v1.json monitoring.coreos.com/prometheusrule_v1.json
vendor "$crds_git" "$crds_ref" kafka.strimzi.io/kafka_v1.json kafka.strimzi.io/kafka_v1.json
vendor "$crds_git" "$crds_ref" kafka.strimzi.io/kafkanodepool_v1.json kafka.strimzi.io/kafkanodepool_v1.json
vendor "$crds_git" "$crds_ref" kafka.strimzi.io/kafkatopic_v1.json kafka.strimzi.io/kafkatopic_v1.json
