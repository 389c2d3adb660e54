"""kpusim.Model / simulate / sweep against `kpusim run --json` and `kpusim sweep --json`."""

import json

import numpy as np
import pytest

import kpusim
from conftest import FACE, FACE_JPG, MBNET, MBNET_LABELS, COFFEE, IRIS, YOLOX_V5


def test_simulate_report_equals_cli_json_flash_dual(cli):
    report, dump = cli.report(FACE, "--input", FACE_JPG, "--mode", "flash-dual", "--batch-size", "0xC000",
                              "--spi-speed", "60M", "--cpu-freq", "400M", "--ram-budget", "maixpy-minimum")
    outputs, mine = kpusim.simulate(kpusim.Model(FACE), FACE_JPG, mode="flash-dual", batch_size=0xC000,
                                    spi_speed=60_000_000, cpu_freq="400M", ram_budget="maixpy-minimum")
    assert mine == report
    assert json.dumps(mine) == json.dumps(report)  # same key order too
    assert len(outputs) == 1 and outputs[0].shape == (1, 30, 15, 20)
    assert outputs[0].tobytes() == (dump / "output_0.bin").read_bytes()


def test_simulate_report_equals_cli_json_all_modes_with_labels(cli):
    report, dump = cli.report(MBNET, "--input", COFFEE, "--mode", "all", "--labels", MBNET_LABELS, "--top", "3",
                              "--spi-speed", "40M")
    outputs, mine = kpusim.simulate(MBNET, COFFEE, mode="all", labels=MBNET_LABELS, top=3, spi_speed="40M")
    assert mine == report
    assert [m["mode"] for m in mine["modes"]] == ["ram", "flash-single", "flash-dual"]
    assert mine["top_k"][0]["label"] == "espresso"
    assert outputs[0].tobytes() == (dump / "output_0.bin").read_bytes()


def test_simulate_float_model_and_test_pattern(cli):
    report, dump = cli.report(IRIS)
    outputs, mine = kpusim.simulate(IRIS)
    assert mine == report and mine["input"] == "test pattern"
    raw = np.frombuffer((dump / "output_0.bin").read_bytes(), dtype=np.float32)
    assert np.array_equal(outputs[0].ravel(), raw)


def test_model_describes_the_file():
    m = kpusim.Model(FACE)
    assert m.kmodel_version == 3 and m.byte_order == "plain"
    assert m.input_shape == (1, 3, 240, 320) and m.input_dtype == "uint8" and m.input_bytes == 230400
    assert m.outputs == [((1, 30, 15, 20), "float32")]
    assert len(m.layers) == 24 and m.layers[0]["engine"] == "kpu"
    assert m.file_bytes == 388776
    assert m.sha256 == "e3c6669f96761e697de71f8f33116747025bc185c5238f7760e4bddc0be23a03"


def test_sweep_rows_equal_cli_sweep_json(cli, tmp_path):
    out = tmp_path / "sweep.json"
    r = cli.run("sweep", FACE, "--batch-size", "0x8000:0x10000:0x8000", "--spi-speed", "40M:80M:40M",
                "--json", out)
    assert r.returncode == 0, r.stderr
    want = json.loads(out.read_text())
    rows = kpusim.sweep(FACE, batch_size="0x8000:0x10000:0x8000", spi_speed="40M:80M:40M")
    assert rows == want["points"] and len(rows) == 4
    assert kpusim.sweep_report(FACE, batch_size="0x8000:0x10000:0x8000", spi_speed="40M:80M:40M") == want


def test_bad_settings_raise_value_error_with_the_cli_message(cli):
    cases = [
        (("--mode", "turbo"), {"mode": "turbo"}),
        (("--spi-speed", "fast"), {"spi_speed": "fast"}),
        (("--cpu-freq", "900M"), {"cpu_freq": 900_000_000}),
        (("--flash-lanes", "3"), {"flash_lanes": 3}),
        (("--ram-budget", "lots"), {"ram_budget": "lots"}),
        (("--source", "sdcard", "--mode", "flash-dual"), {"source": "sdcard", "mode": "flash-dual"}),
        (("--mode", "flash-dual", "--batch-size", "0"), {"mode": "flash-dual", "batch_size": 0}),
    ]
    for args, settings in cases:
        message = cli.error("run", FACE, *args)
        with pytest.raises(ValueError) as e:
            kpusim.simulate(FACE, None, **settings)
        assert str(e.value) == message, settings
    with pytest.raises(ValueError, match="spi_speed"):
        kpusim.simulate(FACE, None, spi_speed=6.5e7)
    message = cli.error("sweep", FACE, "--mode", "ram")
    with pytest.raises(ValueError) as e:
        kpusim.sweep(FACE, mode="ram")
    assert str(e.value) == message


def test_bad_models_and_inputs_raise_value_error(cli):
    message = cli.error("run", YOLOX_V5)
    with pytest.raises(kpusim.KmodelError) as e:
        kpusim.Model(YOLOX_V5)
    assert isinstance(e.value, ValueError) and str(e.value) == message
    message = cli.error("run", "/nonexistent/model.kmodel")
    with pytest.raises(ValueError) as e:
        kpusim.Model("/nonexistent/model.kmodel")
    assert str(e.value) == message
    with pytest.raises(ValueError, match="needs 230400"):
        kpusim.simulate(FACE, np.zeros(100, dtype=np.uint8))
    with pytest.raises(ValueError, match="must be uint8"):
        kpusim.simulate(FACE, np.zeros((3, 240, 320), dtype=np.float32))
    with pytest.raises(ValueError, match="expected None"):
        kpusim.simulate(FACE, 42)
    with pytest.raises(ValueError):
        kpusim.simulate(FACE, b"\x00" * 10)


def test_out_of_memory_raises_memory_error_with_the_cli_message(cli):
    message = cli.error("run", MBNET, "--ram-budget", "maixpy-full")
    with pytest.raises(MemoryError) as e:
        kpusim.simulate(MBNET, None, ram_budget="maixpy-full")
    assert str(e.value) == message


def test_import_and_a_run_print_nothing():
    import subprocess, sys, os
    env = {k: v for k, v in os.environ.items() if k != "SYSTEMC_DISABLE_COPYRIGHT_MESSAGE"}
    r = subprocess.run([sys.executable, "-c", "import kpusim; kpusim.simulate(kpusim.Model(%r))" % IRIS],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "" and r.stderr == ""
