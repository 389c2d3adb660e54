"""The pythonic layer: Model, simulate, sweep (the CLI's `run` and `sweep` as functions)."""

import json
import os
import tempfile

from . import _kpusim
from ._inputs import prepare


def _text(value, name):
    """A setting as the text the CLI would get: ints as decimal, strings as they are."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError("%s: expected an int or a string such as '80M', got %r" % (name, value))
    return str(value)


class Model:
    """A kmodel read from `path` (as nncase wrote it, or the word-reversed image that
    kpu.load_flash reads; `byte_order` tells which). V3 is run; other versions raise
    kpusim.KmodelError (a ValueError) naming the version. strict_sdk: refuse layer types the
    standard SDK refuses (as --strict-sdk).

    Attributes: path, byte_order ("plain" or "word_reversed"), kmodel_version, weights_bits,
    file_bytes, main_mem_usage, largest_body (bytes), input_shape (N, C, H, W), input_dtype
    ("uint8" or "float32"), input_bytes, outputs (list of ((N, C, H, W), dtype)), layers (list
    of dicts: index, type, type_code, engine, out_shape, out_dtype, body_bytes and, for KPU
    layers, in_shape, conv_out_shape, kernel_size, depthwise, pool_type, para_size), notes,
    sha256.
    """

    def __init__(self, path, strict_sdk=False):
        self._core = _kpusim.load(os.fspath(path), bool(strict_sdk))

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._core, name)

    def __repr__(self):
        return "kpusim.Model(%r: kmodel V%d, %d layers, input %s %s)" % (
            self.path, self.kmodel_version, len(self.layers), "x".join(map(str, self.input_shape)),
            self.input_dtype)


def _model(model):
    return model if isinstance(model, Model) else Model(model)


def _options(mode="ram", source="flash", batch_size=0xC000, spi_speed=80_000_000, cpu_freq=400_000_000,
             kpu_freq=400_000_000, flash_lanes=4, flash_ddr=False, model_address=0x300000,
             ram_budget="bare-metal", activation_rule="reference", arg_x_rule="board", params=None,
             set=None, labels=None, top=5, decode=None, anchors=None, threshold=None, nms=None):
    o = _kpusim.JobOptions()
    o.mode = str(mode)
    o.source = str(source)
    o.batch_size = _text(batch_size, "batch_size")
    o.spi_speed = _text(spi_speed, "spi_speed")
    o.cpu_freq = _text(cpu_freq, "cpu_freq")
    o.kpu_freq = _text(kpu_freq, "kpu_freq")
    o.flash_lanes = _text(flash_lanes, "flash_lanes")
    o.flash_ddr = bool(flash_ddr)
    o.model_address = _text(model_address, "model_address")
    o.ram_budget = _text(ram_budget, "ram_budget")
    o.activation_rule = str(activation_rule)
    o.arg_x_rule = str(arg_x_rule)
    o.params_file = os.fspath(params) if params is not None else ""
    o.sets = [set] if isinstance(set, str) else list(set or [])
    o.labels = os.fspath(labels) if labels is not None else ""
    if isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= 100000:
        raise ValueError("top: expected an int in 1..100000, got %r" % (top,))
    o.top = top
    o.decode = decode or ""
    if anchors is not None and not isinstance(anchors, str):
        anchors = ",".join(repr(float(a)) for a in anchors)
    o.anchors = anchors or ""
    for name, value in (("threshold", threshold), ("nms", nms)):
        if value is not None:
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not value >= 0:
                raise ValueError("%s: expected a number >= 0, got %r" % (name, value))
            setattr(o, name, float(value))
    return o


def arrays(raw_outputs):
    """numpy arrays (N, C, H, W) of the raw outputs [(bytes, shape, dtype)] of a run."""
    import numpy
    return [numpy.frombuffer(data, dtype=numpy.dtype(dtype).newbyteorder("<")).astype(dtype).reshape(shape)
            for data, shape, dtype in raw_outputs]


def _run(model, input, options):
    """(raw outputs [(bytes, shape, dtype)], report dict, detections, decode)."""
    data, description, (pw, ph) = prepare(model, input)
    options.input_description = description
    options.picture_width = float(pw)
    options.picture_height = float(ph)
    outputs, report, detections, decode = _kpusim.run(model._core, data, options)
    return outputs, json.loads(report), detections, decode


def simulate(model, input=None, **settings):
    """Run `model` (a Model or a kmodel path) on `input` as `kpusim run` does.

    input: None (the CLI's test pattern), a picture or raw file path, a PIL image, a uint8
    HxWx3 (or HxW grey) numpy picture (resized and laid out as pix_to_ai does), or a numpy
    array / bytes holding exactly the model's input (uint8 CHW, or float32).

    settings (keywords, values as on the CLI; ints or the CLI's strings such as "60M"):
    mode ("ram", "flash-single", "flash-dual" or "all"), source ("flash", "psram-qspi",
    "psram-ospi"), batch_size (0xC000), spi_speed (80_000_000), cpu_freq, kpu_freq
    (400_000_000), flash_lanes (4), flash_ddr (False), model_address (0x300000), ram_budget
    ("bare-metal", "maixpy-minimum", "maixpy-full" or bytes), activation_rule, arg_x_rule,
    params (JSON file), set (a "name=value" or a list of them), labels (file), top (5),
    decode ("classify", "yolo2", "none"; default guessed), anchors (w, h, ... in grid units),
    threshold (0.5), nms (0.3).

    Returns (outputs, report): the outputs as numpy arrays of shape (N, C, H, W), float32 or
    uint8 as the model's, and the report as the dict the CLI's --json writes for the same
    settings (for a numpy/PIL/bytes input its "input" is "numpy array" or "bytes").

    Raises ValueError for a bad setting or input (kpusim.KmodelError, a ValueError, for a
    malformed model), MemoryError when the model does not fit the RAM budget or KPU RAM
    ("out of memory: ..."), RuntimeError for a fault during the run; messages as the CLI's.
    """
    model = _model(model)
    outputs, report, _, _ = _run(model, input, _options(**settings))
    return arrays(outputs), report


def sweep_report(model, input=None, batch_size="0xC000", spi_speed="80M", mode="flash-dual", source="flash",
                 ram_budget="bare-metal", cpu_freq="400M", kpu_freq="400M", flash_lanes=4):
    """`kpusim sweep`: re-time `model` over batch_size x spi_speed (each "FIRST:LAST:STEP" or
    one value, ints allowed), with the RAM mode as the reference. Returns the dict the CLI's
    `sweep --json` writes (config, ram_reference, fastest_fitting, points). input: None or a
    picture/raw file path. Raises ValueError with the CLI's messages."""
    model = _model(model)
    if input is not None and not isinstance(input, (str, os.PathLike)):
        raise ValueError("sweep: input must be None or a file path (the timing does not depend on it)")
    with tempfile.TemporaryDirectory(prefix="kpusim-sweep-") as tmp:
        path = os.path.join(tmp, "sweep.json")
        _kpusim.sweep(model.path, os.fspath(input) if input is not None else "", str(mode), str(source),
                      _text(batch_size, "batch_size"), _text(spi_speed, "spi_speed"),
                      _text(ram_budget, "ram_budget"), _text(cpu_freq, "cpu_freq"),
                      _text(kpu_freq, "kpu_freq"), _text(flash_lanes, "flash_lanes"), path)
        with open(path) as f:
            return json.load(f)


def sweep(model, input=None, **settings):
    """The rows of sweep_report() (its "points": one dict per batch_size x spi_speed, batch
    major: batch_size, spi_speed_hz, valid, then spi_actual_hz, forward_ms, load_ms,
    ram_used_bytes, ram_free_bytes, fits_budget, or error)."""
    return sweep_report(model, input, **settings)["points"]
