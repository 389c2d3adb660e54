"""kpusim: the Kendryte K210 KPU simulator, from Python.

Two layers on the same C++ library as the `kpusim` command:

1. MaixPy's KPU API, so that a MaixPy script runs on the desktop with few changes
   (`import kpusim as kpu`):

       task = kpu.load("facedetect.kmodel")            # or kpu.load_flash(path, 1, 0xC000, 60000000)
       kpu.init_yolo2(task, 0.5, 0.3, 5, anchors)
       for obj in kpu.run_yolo2(task, "face_21.jpg") or []:
           print(obj.rect(), obj.value())
       kpu.deinit(task)

   load, load_flash, forward, init_yolo2, run_yolo2, netinfo, memtest, deinit (kpusim.maixpy).

2. A pythonic layer: Model(path), simulate(model, input, mode=..., ...) -> (outputs, report)
   with the same report dict as `kpusim run --json`, sweep(...) -> rows as `kpusim sweep --json`.

Deliberate differences from MaixPy:
- Models are files: kpu.load(path) and kpu.load_flash(path, is_dual_buf, batch_size,
  spi_speed) take a kmodel path where MaixPy takes a flash offset (an int is refused with
  ValueError). load_flash accepts the plain kmodel as well as the word-reversed image.
- Images are picture files, PIL images or numpy arrays (uint8 HxWx3 pictures are resized to
  the model's input and laid out as MaixPy's pix_to_ai does; an array of exactly the model's
  input bytes is used as is), not MaixPy image objects from the camera.
- kpu.forward(task, img) returns the first output as a float32 numpy array of shape
  (N, C, H, W) where MaixPy returns a KPU feature-map object (kpu.fmap/fmap_free do not
  exist); every output is in task.outputs. Its third argument (run up to a layer) is not
  supported (ValueError).
- kpu.run_yolo2 returns Yolo2Object with MaixPy's x() y() w() h() classid() value() index()
  objnum() rect(); the integer box is the float box truncated, the float box (identical to
  the CLI's detections) is in .box. Boxes are in pixels of the picture given (MaixPy: of the
  image). Like MaixPy it returns None when nothing is found.
- kpu.netinfo lists every layer (KPU and CPU); type() is the kmodel layer type code, name()
  its name; KPU-only fields are 0 for CPU layers.
- kpu.memtest() prints and returns the simulated budget's figures (kpusim.set_ram_budget:
  "bare-metal" by default as the CLI, "maixpy-minimum", "maixpy-full" or bytes) less what the
  loaded tasks use, not the host's memory. load/load_flash allocate from what earlier tasks
  left, deinit frees it.
- Errors are Python exceptions with the CLI's messages: ValueError for bad arguments, input
  or settings (kpusim.KmodelError, a ValueError subclass, for a malformed or unsupported
  model), MemoryError for "out of memory", RuntimeError for faults during a run. MaixPy
  raises OSError/ValueError with its own texts.
- Each forward also simulates the timing; task.report holds the CLI's report of the last run.

numpy is needed where arrays are made or given (simulate, forward, Task.outputs, numpy
inputs); PIL only to pass PIL images. Import, load, run_yolo2 and sweep work without them.

The simulated K210 is created on the first run and reused by every later run of the process.
"""

from ._kpusim import KmodelError, version, set_log_level, picture_size
from ._core import Model, simulate, sweep, sweep_report
from .maixpy import (Task, Yolo2Object, LayerInfo, load, load_flash, forward, init_yolo2, run_yolo2,
                     netinfo, memtest, deinit, set_ram_budget)
from ._kpusim import annotate_png as _annotate_png

__version__ = version()


def annotate(picture, objects, out_png):
    """Draw run_yolo2's objects (or (class_id, label, score, (x0, y0, x1, y1)) tuples) on the
    picture file and write out_png, as `kpusim run --annotate`."""
    dets = []
    for o in objects or []:
        if isinstance(o, Yolo2Object):
            dets.append((o.classid(), o.label, o.value(), o.box))
        else:
            dets.append(tuple(o))
    _annotate_png(str(picture), dets, str(out_png))


__all__ = ["KmodelError", "version", "Model", "simulate", "sweep", "sweep_report", "Task", "Yolo2Object",
           "LayerInfo", "load", "load_flash", "forward", "init_yolo2", "run_yolo2", "netinfo", "memtest",
           "deinit", "set_ram_budget", "annotate", "set_log_level", "picture_size"]
