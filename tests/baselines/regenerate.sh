#!/bin/sh
# Rewrites every timing baseline of models.txt (and the CI-gate example's) with the built
# kpusim. Run from the project root after a reviewed timing or report change:
#   sh tests/baselines/regenerate.sh [build/kpusim]
set -eu
kpusim="${1:-build/kpusim}"
export SYSTEMC_DISABLE_COPYRIGHT_MESSAGE=1
grep -v '^#' tests/baselines/models.txt | while IFS='|' read -r name model options; do
  name=$(echo $name); model=$(echo $model)
  # shellcheck disable=SC2086
  "$kpusim" run "../shared/models/$model" $options --json "tests/baselines/$name.json" > /dev/null
  echo "tests/baselines/$name.json"
done
"$kpusim" run ../shared/models/iris_v3/iris.kmodel --mode all --cpu-freq 400M --kpu-freq 400M --spi-speed 80M \
  --json examples/ci_timing_gate/iris_baseline.json > /dev/null
echo examples/ci_timing_gate/iris_baseline.json
