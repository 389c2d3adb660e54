// The K210 platform as a SystemC module, for programs that build their own SystemC design.
//
//   #include <kpusim/k210.h>
//   struct Top : sc_core::sc_module {
//       kpusim::K210 k210{"k210"};
//       sc_core::sc_clock clk{"clk", 10, sc_core::SC_NS};   // your own clocks and modules
//       SC_CTOR(Top) { SC_THREAD(main); }
//       void main() {
//           kpusim::RunResult r = k210.run(model, input, settings);  // takes simulated time
//           ...
//           sc_core::sc_stop();
//       }
//   };
//
// K210::run executes the firmware (kpu.load or MaixPy's kpu.load_flash runner, then one
// forward) in the calling SC_THREAD, programming the KPU module through its registers and
// waiting on its interrupt, and returns when the forward is done, sim time having advanced by
// the load and forward times. It may be called any number of times, one run at a time.
// Figures are exact picoseconds, equal at every time resolution of 1 ps or coarser.
// Sockets, memories and the data flow of one forward: README.md, "Architecture".
//
// The sc_main rule of <kpusim/kpusim.h> applies.
#pragma once

#include "kpusim/kpusim.h"
#include "sim/k210.h"
