#!/usr/bin/env bash
# CI-style promotion of a model version, driven by nbtrack's exit codes.
#
#   example_notebooks/promotion_gate.sh "Churn Predictor" 3
#
# The candidate goes to Staging, then to Production only if it is at least as good as the
# current Production version on F1 and clears an absolute AUC floor. A failing gate exits 1
# and changes nothing, so the pipeline stops there; a store problem exits 2.
# Set NBTRACK_STORE (or pass --store to each command) to choose the store.
set -uo pipefail

MODEL="${1:?usage: promotion_gate.sh MODEL VERSION}"
VERSION="${2:?usage: promotion_gate.sh MODEL VERSION}"
NBTRACK="${NBTRACK:-nbtrack}"

"$NBTRACK" models promote "$MODEL" "$VERSION" --to Staging --comment "CI: candidate" || exit $?

"$NBTRACK" models promote "$MODEL" "$VERSION" --to Production \
    --require "metrics.f1 >= production.metrics.f1" \
    --require "metrics.auc >= 0.9" \
    --comment "CI: gate passed"
status=$?
if [ "$status" -eq 0 ]; then
    echo "promoted $MODEL v$VERSION to Production"
elif [ "$status" -eq 1 ]; then
    echo "$MODEL v$VERSION stays in Staging: the gate failed" >&2
fi
"$NBTRACK" models show "$MODEL"
exit "$status"
