"""MaixPy's 20-class YOLOv2 demo (machine_vision/yolov2_20class.py) on the desktop: a
picture file instead of the camera, the objects printed and drawn into a PNG.

    PYTHONPATH=build/python python3 examples/python/yolo20_voc.py [MODEL [PICTURE [LABELS [OUT.png]]]]

Defaults: ../shared/models/yolo20_voc_maixpy_v3 (yolo.kmodel, dog.bmp, labels.txt); its
anchors (SOURCE.md there), with threshold 0.5 and NMS 0.3 as MaixPy's yolov2_20class.py
(Kendryte's C demo uses threshold 0.7, which drops the dog of dog.bmp).
"""

import sys

import kpusim as kpu
from _shared import shared

base = "models/yolo20_voc_maixpy_v3/"
model = sys.argv[1] if len(sys.argv) > 1 else shared(base + "yolo.kmodel")
picture = sys.argv[2] if len(sys.argv) > 2 else shared(base + "dog.bmp")
labels = sys.argv[3] if len(sys.argv) > 3 else shared(base + "labels.txt")
out_png = sys.argv[4] if len(sys.argv) > 4 else "yolo20_voc.png"

task = kpu.load(model)
anchor = (1.08, 1.19, 3.42, 4.41, 6.63, 11.38, 9.42, 5.11, 16.62, 10.52)
kpu.init_yolo2(task, 0.5, 0.3, 5, anchor)
objects = kpu.run_yolo2(task, picture, labels=labels) or []
print("%d object(s) in %s" % (len(objects), picture))
for obj in objects:
    print("  %-12s %.3f at %s" % (obj.label, obj.value(), obj.rect()))
kpu.annotate(picture, objects, out_png)
print("drawn into", out_png)
kpu.deinit(task)
