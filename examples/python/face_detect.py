"""MaixPy's face detection demo (machine_vision/face_find/demo_find_face.py) on the desktop:
a picture file instead of the camera, the boxes printed and drawn into a PNG.

    PYTHONPATH=build/python python3 examples/python/face_detect.py [MODEL [PICTURE [OUT.png]]]

Defaults: ../shared/models/face_detect_maixpy_v3/facedetect.kmodel on face_21.jpg.
"""

import sys

import kpusim as kpu
from _shared import shared

model = sys.argv[1] if len(sys.argv) > 1 else shared("models/face_detect_maixpy_v3/facedetect.kmodel")
picture = sys.argv[2] if len(sys.argv) > 2 else shared("models/face_detect_maixpy_v3/face_21.jpg")
out_png = sys.argv[3] if len(sys.argv) > 3 else "face_detect.png"

task = kpu.load(model)  # MaixPy: kpu.load(0x300000)
anchor = (1.889, 2.5245, 2.9465, 3.94056, 3.99987, 5.3658, 5.155437, 6.92275, 6.718375, 9.01025)
kpu.init_yolo2(task, 0.5, 0.3, 5, anchor)
faces = kpu.run_yolo2(task, picture) or []  # MaixPy: img = sensor.snapshot()
print("%d face(s) in %s" % (len(faces), picture))
for face in faces:
    print("  face at x=%d y=%d w=%d h=%d, score %.3f" % (face.x(), face.y(), face.w(), face.h(), face.value()))
print("forward %.3f ms on the simulated K210 (%s)" % (task.report["forward_ms"], task.report["config"]["modes"][0]))
kpu.annotate(picture, faces, out_png)  # MaixPy: img.draw_rectangle(face.rect())
print("drawn into", out_png)
kpu.deinit(task)
