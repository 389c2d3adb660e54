"""MaixPy's KPU API (kpusim.load, forward, init_yolo2, run_yolo2, ...) against the CLI."""

import numpy as np
import pytest

import kpusim as kpu
from conftest import FACE, FACE_JPG, FACE_RAW, MBNET, COFFEE, VOC, VOC_BMP, VOC_LABELS

FACE_ANCHORS = (1.889, 2.5245, 2.9465, 3.94056, 3.99987, 5.3658, 5.155437, 6.92275, 6.718375, 9.01025)
VOC_ANCHORS = (1.08, 1.19, 3.42, 4.41, 6.63, 11.38, 9.42, 5.11, 16.62, 10.52)


def dumped(folder, index=0):
    return (folder / ("output_%d.bin" % index)).read_bytes()


@pytest.mark.parametrize("model,picture", [(FACE, FACE_JPG), (MBNET, COFFEE)])
def test_forward_equals_cli_dump_bit_for_bit(cli, model, picture):
    _, dump = cli.report(model, "--input", picture)
    task = kpu.load(model)
    out = kpu.forward(task, picture)
    kpu.deinit(task)
    assert out.dtype == np.float32
    assert out.tobytes() == dumped(dump)


def test_forward_from_flash_equals_cli_flash_dual(cli):
    report, dump = cli.report(FACE, "--input", FACE_JPG, "--mode", "flash-dual", "--batch-size", "0xC000",
                              "--spi-speed", "60000000")
    task = kpu.load_flash(FACE, 1, 0xC000, 60000000)
    out = kpu.forward(task, FACE_JPG)
    assert out.tobytes() == dumped(dump)
    # The task's report is the CLI's, except the RAM budget that load_flash gives the task
    # (what earlier tasks left of the budget: here the whole budget).
    assert task.report["forward_ms"] == report["forward_ms"]
    assert task.report["memory"] == report["memory"]
    kpu.deinit(task)


def test_forward_of_numpy_picture_and_raw_input_equal_the_files(cli):
    PIL = pytest.importorskip("PIL.Image")
    task = kpu.load(MBNET)
    from_file = kpu.forward(task, COFFEE)
    picture = np.asarray(PIL.open(COFFEE).convert("RGB"))  # PNG: PIL and stb decode the same pixels
    assert picture.ndim == 3 and picture.shape[2] == 3
    assert kpu.forward(task, picture).tobytes() == from_file.tobytes()
    assert kpu.forward(task, PIL.open(COFFEE)).tobytes() == from_file.tobytes()
    kpu.deinit(task)
    _, dump = cli.report(FACE, "--input", FACE_RAW)
    task = kpu.load(FACE)
    raw = np.fromfile(FACE_RAW, dtype=np.uint8).reshape(3, 240, 320)
    assert kpu.forward(task, raw).tobytes() == dumped(dump)
    kpu.deinit(task)


def detections_of(objects):
    return [{"class_id": o.classid(), "label": o.label, "score": o.value(), "box": list(o.box)} for o in objects]


def test_run_yolo2_boxes_equal_cli_detections(cli):
    report, _ = cli.report(VOC, "--input", VOC_BMP, "--labels", VOC_LABELS, "--decode", "yolo2",
                           "--threshold", "0.5", "--nms", "0.3")
    task = kpu.load(VOC)
    kpu.init_yolo2(task, 0.5, 0.3, 5, VOC_ANCHORS)
    objects = kpu.run_yolo2(task, VOC_BMP, labels=VOC_LABELS)
    assert len(report["detections"]) >= 2
    assert detections_of(objects) == report["detections"]
    labels = [o.label for o in objects]
    assert "dog" in labels and "bicycle" in labels
    first = objects[0]
    assert first.rect() == (first.x(), first.y(), first.w(), first.h())
    assert (first.x(), first.y()) == (int(first.box[0]), int(first.box[1]))
    assert [o.index() for o in objects] == list(range(len(objects)))
    assert all(o.objnum() == len(objects) for o in objects)
    kpu.deinit(task)


def test_face_detector_finds_one_face_like_the_cli(cli):
    report, _ = cli.report(FACE, "--input", FACE_JPG)
    task = kpu.load(FACE)
    kpu.init_yolo2(task, 0.5, 0.3, 5, FACE_ANCHORS)
    faces = kpu.run_yolo2(task, FACE_JPG)
    assert len(faces) == 1
    assert detections_of(faces) == report["detections"]
    # A threshold above every score: nothing, and None as in MaixPy.
    kpu.init_yolo2(task, 0.99, 0.3, 5, FACE_ANCHORS)
    assert kpu.run_yolo2(task, FACE_JPG) is None
    kpu.deinit(task)


def test_repeated_runs_in_one_interpreter_agree():
    face = kpu.load(FACE)
    first = kpu.forward(face, FACE_JPG).copy()
    first_report = face.report
    mbnet = kpu.load(MBNET)
    coffee = kpu.forward(mbnet, COFFEE).copy()
    for _ in range(2):
        assert kpu.forward(face, FACE_JPG).tobytes() == first.tobytes()
        assert face.report == first_report
        assert kpu.forward(mbnet, COFFEE).tobytes() == coffee.tobytes()
    kpu.deinit(face)
    kpu.deinit(mbnet)


def test_netinfo_describes_the_layers():
    task = kpu.load(FACE)
    info = kpu.netinfo(task)
    assert len(info) == 24
    first = info[0]
    assert (first.index(), first.name(), first.wi(), first.hi(), first.chi()) == (0, "K210_CONV", 320, 240, 3)
    assert first.kernel_type() in (1, 3)
    assert info[-1].name() == "DEQUANTIZE" and info[-1].wi() == 0
    assert (info[-1].cho(), info[-1].ho(), info[-1].wo()) == (30, 15, 20)
    kpu.deinit(task)


def test_memtest_counts_what_loaded_tasks_use(capsys):
    kpu.set_ram_budget("maixpy-minimum")
    try:
        before = kpu.memtest()
        assert before["budget_bytes"] == 4 * 1024 * 1024
        task = kpu.load(FACE)
        during = kpu.memtest()
        assert during["used_bytes"] - before["used_bytes"] == task.memory["ram_used_bytes"] > 388776
        assert during["free_bytes"] == before["free_bytes"] - task.memory["ram_used_bytes"]
        kpu.deinit(task)
        assert kpu.memtest() == before
        assert "free" in capsys.readouterr().out
    finally:
        kpu.set_ram_budget("bare-metal")


def test_bad_arguments_raise_the_documented_exceptions(cli):
    with pytest.raises(ValueError, match="no board flash"):
        kpu.load(0x300000)
    with pytest.raises(ValueError, match="cannot|no such|not"):
        kpu.load("/nonexistent/model.kmodel")
    with pytest.raises(ValueError, match="is_dual_buf"):
        kpu.load_flash(FACE, 2, 0xC000, 60000000)
    message = cli.error("run", FACE, "--mode", "flash-dual", "--spi-speed", "0")
    with pytest.raises(ValueError) as e:
        kpu.load_flash(FACE, 1, 0xC000, 0)
    assert str(e.value) == message
    task = kpu.load(FACE)
    with pytest.raises(ValueError, match="run_yolo2 needs kpu.init_yolo2"):
        kpu.run_yolo2(task, FACE_JPG)
    with pytest.raises(ValueError, match="anchor_num 5 needs 10"):
        kpu.init_yolo2(task, 0.5, 0.3, 5, FACE_ANCHORS[:8])
    with pytest.raises(ValueError, match="not supported"):
        kpu.forward(task, FACE_JPG, 3)
    with pytest.raises(ValueError):
        kpu.forward(task, "/nonexistent/picture.png")
    kpu.deinit(task)
    with pytest.raises(ValueError, match="deinit"):
        kpu.forward(task, FACE_JPG)
    # A model that does not fit what the budget leaves: MemoryError with the CLI's message.
    message = cli.error("run", MBNET, "--ram-budget", "maixpy-full")
    assert message.startswith("out of memory")
    kpu.set_ram_budget("maixpy-full")
    try:
        with pytest.raises(MemoryError) as e:
            kpu.load(MBNET)
        assert str(e.value) == message
    finally:
        kpu.set_ram_budget("bare-metal")
    with pytest.raises(ValueError):
        kpu.set_ram_budget("plenty")


def test_numpy_pictures_are_resized_and_laid_out_as_the_cli_does_for_picture_files(cli, tmp_path):
    """HxWx3 and HxW arrays go through the library's picture path (resize, planar RGB or
    grey): equal to the CLI on the same pixels saved as PNG, for a grey and an RGB model."""
    PIL = pytest.importorskip("PIL.Image")
    from conftest import shared
    rng = np.random.default_rng(7)
    rgb = rng.integers(0, 256, size=(45, 61, 3), dtype=np.uint8)
    grey = rng.integers(0, 256, size=(33, 20), dtype=np.uint8)
    PIL.fromarray(rgb).save(tmp_path / "rgb.png")
    PIL.fromarray(grey).save(tmp_path / "grey.png")
    mnist = shared("models/mnist_maixpy_v3/mnist.kmodel")
    for model, array, png in [(mnist, rgb, "rgb.png"), (mnist, grey, "grey.png"), (FACE, rgb, "rgb.png")]:
        _, dump = cli.report(model, "--input", tmp_path / png)
        task = kpu.load(model)
        assert kpu.forward(task, array).tobytes() == dumped(dump), (model, png)
        kpu.deinit(task)


def test_load_flash_reads_the_word_reversed_image_of_flash_image(cli, tmp_path):
    image = tmp_path / "facedetect_be.kmodel"
    r = cli.run("flash-image", FACE, "-o", image)
    assert r.returncode == 0, r.stderr
    plain = kpu.load_flash(FACE, 0, 0xC000, 60000000)
    reversed_ = kpu.load_flash(image, 0, 0xC000, 60000000)
    assert reversed_.model.byte_order == "word_reversed" and plain.model.byte_order == "plain"
    assert kpu.forward(reversed_, FACE_JPG).tobytes() == kpu.forward(plain, FACE_JPG).tobytes()
    assert reversed_.report["config"]["modes"] == ["flash-single"]
    kpu.deinit(plain)
    kpu.deinit(reversed_)
