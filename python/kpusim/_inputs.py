"""Turning what a Python caller gives as a model input into the bytes the library runs on."""

import os

from . import _kpusim


def _numpy():
    import numpy
    return numpy


def _is_pil_image(obj):
    return type(obj).__module__.startswith("PIL.") and hasattr(obj, "convert") and hasattr(obj, "size")


def _pnm(array):
    """A binary PNM (P6 for HxWx3, P5 for HxW) of a uint8 picture array, for the library's decoder."""
    h, w = array.shape[:2]
    magic = b"P6" if array.ndim == 3 else b"P5"
    return magic + b"\n%d %d\n255\n" % (w, h) + array.tobytes()


def prepare(model, value):
    """(input bytes, description for the report, (picture width, height) or (0, 0)).

    value: None (the CLI's test pattern); a path (picture or raw file, as --input); bytes
    (raw input); a PIL image; a numpy array: uint8 HxWx3 / HxWx4 (alpha dropped) / HxW is a
    picture (resized to the model input and laid out as pix_to_ai does), anything else is
    the raw input (uint8 CHW, or float32 for float-input models) and must hold exactly the
    model's input bytes. Raises ValueError for anything else.
    """
    core = model._core
    if value is None:
        return _kpusim.test_pattern(core), "test pattern", (0, 0)
    if isinstance(value, (str, os.PathLike)):
        path = os.fspath(value)
        size = _kpusim.picture_size(path) or (0, 0)
        return _kpusim.input_from_file(core, path), path, size
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value), "bytes", (0, 0)
    if _is_pil_image(value):
        channels = core.input_shape[1]
        value = _numpy().asarray(value.convert("L" if channels == 1 else "RGB"))
    np = _numpy()
    if not isinstance(value, np.ndarray):
        raise ValueError("input: expected None, a file path, bytes, a PIL image or a numpy array, got "
                         + type(value).__name__)
    chw = tuple(core.input_shape[1:])
    picture = value.dtype == np.uint8 and value.shape != chw and (
        (value.ndim == 3 and value.shape[2] in (3, 4)) or value.ndim == 2)
    if picture:
        pixels = np.ascontiguousarray(value[:, :, :3] if value.ndim == 3 else value)
        if pixels.shape[0] == 0 or pixels.shape[1] == 0:
            raise ValueError("input: an empty picture array")
        h, w = pixels.shape[:2]
        data = _kpusim.input_from_encoded(core, _pnm(pixels), "numpy array %dx%dx%d" % (
            h, w, 1 if pixels.ndim == 2 else 3))
        return data, "numpy array", (w, h)
    want = np.float32 if core.input_dtype == "float32" else np.uint8
    if value.dtype != want:
        raise ValueError("input: a raw input array must be %s (the model's input is %s %s), got %s" % (
            np.dtype(want).name, "x".join(map(str, core.input_shape)), core.input_dtype, value.dtype))
    data = np.ascontiguousarray(value).astype(np.dtype(want).newbyteorder("<"), copy=False).tobytes()
    if len(data) != core.input_bytes:
        raise ValueError("input: the array holds %d bytes; the model's input %s %s needs %d" % (
            len(data), "x".join(map(str, core.input_shape)), core.input_dtype, core.input_bytes))
    return data, "numpy array", (0, 0)
