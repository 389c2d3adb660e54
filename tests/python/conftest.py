"""Shared fixtures of the Python module's tests: the team's shared/ folder and the kpusim CLI
(from $KPUSIM_SHARED_DIR and $KPUSIM_BINARY, as CTest passes them; else beside the repo)."""

import json
import os
import subprocess

import pytest

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
SHARED = os.environ.get("KPUSIM_SHARED_DIR") or os.path.join(ROOT, "..", "shared")
BINARY = os.environ.get("KPUSIM_BINARY") or os.path.join(ROOT, "build", "kpusim")


def shared(relative):
    return os.path.join(SHARED, relative)


FACE = shared("models/face_detect_maixpy_v3/facedetect.kmodel")
FACE_JPG = shared("models/face_detect_maixpy_v3/face_21.jpg")
FACE_RAW = shared("models/face_detect_maixpy_v3/face_21_320x240_rgb_chw.u8")
VOC = shared("models/yolo20_voc_maixpy_v3/yolo.kmodel")
VOC_BMP = shared("models/yolo20_voc_maixpy_v3/dog.bmp")
VOC_LABELS = shared("models/yolo20_voc_maixpy_v3/labels.txt")
MBNET = shared("models/mobilenetv1_0.75_imagenet_v3/mbnet75.kmodel")
MBNET_LABELS = shared("models/mobilenetv1_0.75_imagenet_v3/labels.txt")
COFFEE = shared("images/coffee.png")
IRIS = shared("models/iris_v3/iris.kmodel")
YOLOX_V5 = shared("models/yolox_nano_224_v5/yolox_nano_224.kmodel")


class Cli:
    """The kpusim program: run(args) -> CompletedProcess (text); json_run and dump helpers."""

    def __init__(self, tmp):
        self.tmp = tmp

    def run(self, *args):
        env = dict(os.environ, SYSTEMC_DISABLE_COPYRIGHT_MESSAGE="1")
        return subprocess.run([BINARY, *map(str, args)], capture_output=True, text=True, env=env)

    def report(self, *args):
        """`kpusim run ARGS --json F --dump-outputs D`: (report dict, dump folder)."""
        out = self.tmp / ("run%d" % len(list(self.tmp.iterdir())))
        out.mkdir()
        r = self.run("run", *args, "--json", out / "report.json", "--dump-outputs", out / "dump")
        assert r.returncode == 0, r.stdout + r.stderr
        with open(out / "report.json") as f:
            return json.load(f), out / "dump"

    def error(self, *args):
        """The message of a failing command (after "kpusim: error: ")."""
        r = self.run(*args)
        assert r.returncode != 0, r.stdout
        line = [l for l in r.stderr.splitlines() if l.startswith("kpusim: error: ")]
        assert line, r.stderr
        return line[0][len("kpusim: error: "):]


@pytest.fixture
def cli(tmp_path):
    assert os.path.exists(BINARY), "the kpusim program is not built: " + BINARY
    return Cli(tmp_path)
