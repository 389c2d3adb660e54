# Example (e), for users who have a board: measure kpu.load / kpu.load_flash forward times
# and dump the outputs on a real K210 running MaixPy, to compare with kpusim.
#
# On the board (MaixPy v0.5/v0.6 firmware, a V3 kmodel):
#   1. Put the model on the SD card (kpu.load) and/or flash it with `kpusim flash-image` at
#      MODEL_ADDRESS (kpu.load_flash needs the word-reversed image).
#   2. Copy this script to the board and run it; it prints one line per mode and writes
#      /sd/kpusim_capture_<mode>.txt with the output values, one per line.
# On the desktop:
#   kpusim run model.kmodel --input same_picture.jpg --mode all --cpu-freq 400M --kpu-freq 400M \
#       --spi-speed 80M --json report.json
#   Compare report.json's forward_ms per mode with the "forward" lines printed here, and the
#   outputs with the capture (README: "Comparing with a board").
import time
import gc
import image
import KPU as kpu

MODEL_FILE = "/sd/model.kmodel"   # kpu.load
MODEL_ADDRESS = 0x300000          # kpu.load_flash (the flash image's address)
PICTURE = "/sd/picture.jpg"       # the same picture you give kpusim --input
FORWARDS = 10                     # forwards averaged per mode


def measure(name, task, img):
    kpu.forward(task, img)  # warm-up (first forward also allocates)
    start = time.ticks_us()
    for _ in range(FORWARDS):
        fmap = kpu.forward(task, img)
    elapsed = time.ticks_diff(time.ticks_us(), start) / FORWARDS / 1000.0
    values = fmap[:]
    print("%s: forward %.3f ms, %d output values" % (name, elapsed, len(values)))
    with open("/sd/kpusim_capture_%s.txt" % name, "w") as f:
        for v in values:
            f.write("%.9g\n" % v)


img = image.Image(PICTURE)
img.pix_to_ai()

start = time.ticks_us()
task = kpu.load(MODEL_FILE)
print("ram: load %.3f ms" % (time.ticks_diff(time.ticks_us(), start) / 1000.0))
measure("ram", task, img)
kpu.deinit(task)
gc.collect()

for dual in (0, 1):
    start = time.ticks_us()
    task = kpu.load_flash(MODEL_ADDRESS, dual, 0xC000, 80000000)
    print("flash dual=%d: load %.3f ms" % (dual, time.ticks_diff(time.ticks_us(), start) / 1000.0))
    measure("flash-dual" if dual else "flash-single", task, img)
    kpu.deinit(task)
    gc.collect()
