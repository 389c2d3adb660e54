#!/bin/sh
# Example (c): a CI timing gate as you would add it to your own repository. Commit a baseline
# report once (`kpusim run MODEL ... --json baseline.json`), then let CI re-run the same
# command and fail when a layer or the total moves by more than the tolerance:
#
#   timing_gate.sh KPUSIM MODEL BASELINE.json REPORT.json
#
# Keep the run settings of the baseline (mode, clocks, SPI speed, batch_size) in this script:
# `kpusim check` refuses reports made with other settings.
set -eu
kpusim="$1"; model="$2"; baseline="$3"; report="$4"
# --batch-size 128: iris's layer bodies are tiny (228 bytes at most); a larger batch fails flash-dual,
# and `run --mode all` exits 3 when a mode fails (README "Exit codes").
"$kpusim" run "$model" --mode all --cpu-freq 400M --kpu-freq 400M --spi-speed 80M --batch-size 128 --json "$report" > /dev/null
"$kpusim" check "$report" --baseline "$baseline" --tolerance 2%
