#!/usr/bin/env bash
# Regenerate the timing baselines listed in models.txt with a built kpusim (default
# ./build/kpusim). Run from the project root, with ../shared beside it; review the diff.
set -euo pipefail
cd "$(dirname "$0")/../.."
kpusim=${1:-./build/kpusim}
grep -v '^#' tests/baselines/models.txt | while IFS='|' read -r name model options; do
  name=$(echo $name); model=$(echo $model)
  # shellcheck disable=SC2086
  "$kpusim" run "../shared/models/$model" $options --json "tests/baselines/$name.json" > /dev/null
  echo "wrote tests/baselines/$name.json"
done
# The CI-gate example's baseline (examples/ci_timing_gate/timing_gate.sh runs the same command).
"$kpusim" run ../shared/models/iris_v3/iris.kmodel --mode all --cpu-freq 400M --kpu-freq 400M --spi-speed 80M --batch-size 128 \
  --json examples/ci_timing_gate/iris_baseline.json > /dev/null
echo "wrote examples/ci_timing_gate/iris_baseline.json"
