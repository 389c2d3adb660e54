"""MaixPy's KPU module (`import KPU as kpu`) on the simulated K210.

See the package docstring (kpusim.__doc__) for every difference from MaixPy.
"""

from . import _kpusim
from ._core import Model, _options, _run, arrays

_ram_budget = "bare-metal"
_live = []  # loaded tasks not yet deinit'ed, in load order


def set_ram_budget(budget):
    """The general RAM the simulated firmware leaves to models, for the tasks loaded from now
    on: a preset ("bare-metal" (default, as the CLI), "maixpy-minimum", "maixpy-full") or a
    byte count. Raises ValueError for anything else."""
    global _ram_budget
    _kpusim.ram_budget_bytes(str(budget))  # validate (the CLI's message)
    _ram_budget = str(budget)


def _budget_bytes():
    return _kpusim.ram_budget_bytes(_ram_budget)


def _used_bytes():
    return sum(t._ram_used for t in _live)


class Task:
    """What kpu.load / kpu.load_flash return (MaixPy's kpu_net). Attributes: model (a
    kpusim.Model), settings (the run keywords), memory (the load's "memory" report: bytes),
    report (the report of the last forward or run_yolo2, the CLI's --json dict), outputs
    (every output of the last forward or run_yolo2 as numpy arrays, None before)."""

    def __init__(self, model, settings):
        self.model = model
        self.settings = settings
        self.report = None
        self._outputs = None
        self._yolo = None
        self._deinit = False
        self._ram_used = 0

    @property
    def outputs(self):
        return None if self._outputs is None else arrays(self._outputs)

    def _check(self):
        if self._deinit:
            raise ValueError("this task was released by kpu.deinit; load the model again")

    def __repr__(self):
        return "<kpusim task %s, %s%s>" % (self.model.path, self.settings["mode"], ", deinit" if self._deinit else "")


def _load(path, settings):
    if isinstance(path, int) and not isinstance(path, bool):
        raise ValueError("kpusim has no board flash: give the kmodel file's path instead of the flash offset 0x%x"
                         % path)
    model = Model(path)
    budget = _budget_bytes() - _used_bytes()
    settings = dict(settings, ram_budget=budget)
    task = Task(model, settings)
    # A timing-only run allocates what the firmware would (model body or flash buffers, main
    # buffer): MemoryError now when it does not fit what earlier tasks left.
    options = _options(**settings)
    options.compute_outputs = False
    _, report, _, _ = _run(model, None, options)
    task.memory = report["memory"]
    task._ram_used = report["memory"]["ram_used_bytes"]
    _live.append(task)
    return task


def load(path):
    """kpu.load(file_path): read the whole model into RAM (RAM mode). MaixPy's flash offset
    form is refused (ValueError): give the file. Raises kpusim.KmodelError (ValueError) for a
    malformed model, MemoryError when it does not fit the RAM left by the budget and the
    tasks still loaded."""
    return _load(path, {"mode": "ram"})


def load_flash(path, is_dual_buf, batch_size, spi_speed):
    """kpu.load_flash(file_path, is_dual_buf, batch_size, spi_speed): run the model from
    flash, layer by layer (is_dual_buf 0: one buffer, flash-single) or in batches of at least
    batch_size bytes into two overlapped buffers (1: flash-dual), the flash at spi_speed Hz.
    The file may be the word-reversed image MaixPy needs or the plain kmodel. Raises
    ValueError for bad settings (the CLI's messages), MemoryError when the buffers do not fit."""
    if is_dual_buf not in (0, 1) or isinstance(is_dual_buf, float):
        raise ValueError("is_dual_buf must be 0 (one buffer) or 1 (two buffers), got %r" % (is_dual_buf,))
    return _load(path, {"mode": "flash-dual" if is_dual_buf else "flash-single",
                        "batch_size": batch_size, "spi_speed": spi_speed})


def forward(task, img, layer=None):
    """kpu.forward(task, img): run the model on img (a file path, a PIL image, a uint8 HxWx3
    numpy picture (resized, pix_to_ai layout) or the raw input array) and return the first
    output as a float32 numpy array of shape (N, C, H, W) (MaixPy returns a feature-map
    object). Running up to a given layer (MaixPy's third argument) is not supported."""
    task._check()
    if layer is not None:
        raise ValueError("kpu.forward(task, img, layer): stopping at a layer is not supported by kpusim")
    outputs, report, _, _ = _run(task.model, img, _options(**task.settings))
    task._outputs, task.report = outputs, report
    return arrays(outputs[:1])[0].astype("float32")


def init_yolo2(task, threshold, nms_value, anchor_num, anchor):
    """kpu.init_yolo2(task, threshold, nms_value, anchor_num, anchor): the region layer's
    settings for run_yolo2 (anchor: anchor_num w, h pairs in grid units). Raises ValueError
    when anchor does not hold 2 x anchor_num numbers or a value is out of range."""
    task._check()
    anchor = tuple(float(a) for a in anchor)
    if isinstance(anchor_num, bool) or not isinstance(anchor_num, int) or anchor_num < 1:
        raise ValueError("anchor_num must be a positive int, got %r" % (anchor_num,))
    if len(anchor) != 2 * anchor_num:
        raise ValueError("anchor holds %d numbers; anchor_num %d needs %d (w, h pairs)"
                         % (len(anchor), anchor_num, 2 * anchor_num))
    for name, value in (("threshold", threshold), ("nms_value", nms_value)):
        if not 0 <= float(value) <= 1:
            raise ValueError("%s must be in 0..1, got %r" % (name, value))
    task._yolo = {"threshold": float(threshold), "nms": float(nms_value), "anchors": anchor}


class Yolo2Object:
    """One box of run_yolo2, with MaixPy's accessors: x(), y() (top-left corner), w(), h()
    (whole pixels: the float box truncated as MaixPy's integer boxes), classid(), value()
    (score), index() (position in the list), objnum() (boxes in the list), rect() (x, y, w,
    h). `box` holds the exact float box (x0, y0, x1, y1) in picture pixels, as the CLI's
    detections; `label` the class label ("class N" without labels)."""

    def __init__(self, class_id, label, score, box, index, count):
        self.box, self.label = tuple(box), label
        self._classid, self._value, self._index, self._count = class_id, score, index, count

    def x(self): return int(self.box[0])
    def y(self): return int(self.box[1])
    def w(self): return int(self.box[2]) - int(self.box[0])
    def h(self): return int(self.box[3]) - int(self.box[1])
    def classid(self): return self._classid
    def value(self): return self._value
    def index(self): return self._index
    def objnum(self): return self._count
    def rect(self): return (self.x(), self.y(), self.w(), self.h())

    def __repr__(self):
        return ("{\"x\":%d, \"y\":%d, \"w\":%d, \"h\":%d, \"value\":%f, \"classid\":%d, \"index\":%d, \"objnum\":%d}"
                % (self.x(), self.y(), self.w(), self.h(), self._value, self._classid, self._index, self._count))


def run_yolo2(task, img, labels=None):
    """kpu.run_yolo2(task, img): forward, then the YOLOv2 region layer with init_yolo2's
    settings, boxes in pixels of img (the picture before resizing). Returns a list of
    Yolo2Object, highest score first, or None when nothing is found (as MaixPy). labels: an
    optional labels file for Yolo2Object.label. Raises ValueError before init_yolo2."""
    task._check()
    if task._yolo is None:
        raise ValueError("run_yolo2 needs kpu.init_yolo2(task, threshold, nms_value, anchor_num, anchor) first")
    options = _options(**task.settings, decode="yolo2", anchors=task._yolo["anchors"],
                       threshold=task._yolo["threshold"], nms=task._yolo["nms"], labels=labels)
    outputs, report, detections, _ = _run(task.model, img, options)
    task._outputs, task.report = outputs, report
    if not detections:
        return None
    return [Yolo2Object(c, label, s, box, i, len(detections)) for i, (c, label, s, box) in enumerate(detections)]


class LayerInfo:
    """One entry of netinfo, with MaixPy's accessors: index(), type() (the kmodel layer type
    code), wi(), hi(), chi() (input), wo(), ho(), cho() (output), dw() (depthwise),
    kernel_type() (1 for 1x1, 3 for 3x3), pool_type(), para_size(); KPU fields are 0 for
    CPU layers. name() gives the type's name ("K210_CONV", ...)."""

    def __init__(self, d):
        self._d = d
        self._in = d.get("in_shape", (1, 0, 0, 0))

    def index(self): return self._d["index"]
    def type(self): return self._d["type_code"]
    def name(self): return self._d["type"]
    def wi(self): return self._in[3]
    def hi(self): return self._in[2]
    def chi(self): return self._in[1]
    def wo(self): return self._d["out_shape"][3]
    def ho(self): return self._d["out_shape"][2]
    def cho(self): return self._d["out_shape"][1]
    def dw(self): return int(self._d.get("depthwise", False))
    def kernel_type(self): return self._d.get("kernel_size", 0)
    def pool_type(self): return self._d.get("pool_type", 0)
    def para_size(self): return self._d.get("para_size", 0)

    def __repr__(self):
        return "{index:%d, type:%s, wi:%d, hi:%d, wo:%d, ho:%d, chi:%d, cho:%d, dw:%d, kernel_type:%d, pool_type:%d, para_size:%d}" % (
            self.index(), self.name(), self.wi(), self.hi(), self.wo(), self.ho(), self.chi(), self.cho(),
            self.dw(), self.kernel_type(), self.pool_type(), self.para_size())


def netinfo(task):
    """kpu.netinfo(task): one LayerInfo per layer of the model (every layer, KPU and CPU)."""
    task._check()
    return [LayerInfo(d) for d in task.model.layers]


def memtest():
    """kpu.memtest()-like figures for the chosen budget (set_ram_budget): prints them and
    returns {"budget": preset or bytes as given, "budget_bytes", "used_bytes" (by the tasks
    still loaded), "free_bytes"}."""
    budget = _budget_bytes()
    used = _used_bytes()
    figures = {"budget": _ram_budget, "budget_bytes": budget, "used_bytes": used, "free_bytes": budget - used}
    print("kpusim memtest: RAM budget %s = %d bytes, %d used by %d loaded task(s), %d free"
          % (_ram_budget, budget, used, len(_live), budget - used))
    return figures


def deinit(task):
    """kpu.deinit(task): release the task (its RAM returns to memtest's free figure); using it
    afterwards raises ValueError."""
    if not task._deinit:
        task._deinit = True
        _live.remove(task)
