// libFuzzer provides main() for the fuzz executables; libsystemc, linked through
// kpusim_lib, still needs its extern "C" sc_main symbol to link. It is never called.
extern "C" int sc_main(int, char**) { return 0; }
