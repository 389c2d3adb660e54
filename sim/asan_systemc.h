// Keeps AddressSanitizer's idea of the main thread's stack right around SystemC.
//
// Debian's SystemC 2.3.4 reports each coroutine switch to ASan, but announces the switch back
// to sc_main's stack as (nullptr, 0). ASan then believes the main thread runs on an empty
// stack and, when an exception later unwinds there, skips unpoisoning it and trips over the
// stale redzones (a false "stack-buffer-overflow" in __interceptor_sigaltstack). Calling this
// after every sc_start() re-announces the real main stack. It compiles to nothing without ASan.
#pragma once

#if defined(__SANITIZE_ADDRESS__)
#include <pthread.h>
#include <sanitizer/common_interface_defs.h>
#endif

namespace kpusim {

inline void resync_asan_main_stack() {
#if defined(__SANITIZE_ADDRESS__)
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) != 0) return;
    void* bottom = nullptr;
    size_t size = 0;
    pthread_attr_getstack(&attr, &bottom, &size);
    pthread_attr_destroy(&attr);
    void* fake_stack = nullptr;
    __sanitizer_start_switch_fiber(&fake_stack, bottom, size);
    __sanitizer_finish_switch_fiber(fake_stack, nullptr, nullptr);
#endif
}

}  // namespace kpusim
