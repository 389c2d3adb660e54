"""MaixPy's MobileNet classifier demo (kpu.load + kpu.forward + the top class) on the
desktop: a picture file instead of the camera, the top-5 printed and the top-1 label drawn
into a PNG.

    PYTHONPATH=build/python python3 examples/python/mobilenet.py [MODEL [PICTURE [LABELS [OUT.png]]]]

Defaults: ../shared/models/mobilenetv1_0.75_imagenet_v3 (mbnet75.kmodel, labels.txt) on
../shared/images/coffee.png.
"""

import sys

import numpy as np

import kpusim as kpu
from _shared import shared

base = "models/mobilenetv1_0.75_imagenet_v3/"
model = sys.argv[1] if len(sys.argv) > 1 else shared(base + "mbnet75.kmodel")
picture = sys.argv[2] if len(sys.argv) > 2 else shared("images/coffee.png")
labels_file = sys.argv[3] if len(sys.argv) > 3 else shared(base + "labels.txt")
out_png = sys.argv[4] if len(sys.argv) > 4 else "mobilenet.png"

with open(labels_file) as f:
    labels = [line.strip() for line in f]
task = kpu.load(model)
scores = kpu.forward(task, picture).ravel()  # MaixPy: fmap = kpu.forward(task, img); fmap[:]
order = np.argsort(-scores, kind="stable")[:5]
print("top-1: %s (%.3f)" % (labels[order[0]], scores[order[0]]))
for rank, i in enumerate(order, 1):
    print("  %d. %-30s %.4f" % (rank, labels[i], scores[i]))
print("forward %.3f ms on the simulated K210" % task.report["forward_ms"])
pw, ph = kpu.picture_size(picture)  # the label strip sits on a box around the whole picture
kpu.annotate(picture, [(int(order[0]), labels[order[0]], float(scores[order[0]]), (0, 0, pw, ph))], out_png)
print("drawn into", out_png)
kpu.deinit(task)
