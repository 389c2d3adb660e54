// The error types every layer of kpusim throws (the kmodel readers, the memories, the model
// sources, the platform), kept below all of them so that no layer borrows another's header.
#pragma once

#include <stdexcept>

namespace kpusim {

/// A model that does not fit the simulated memories (general SRAM budget or KPU RAM).
/// The message follows the device's wording ("out of memory",
/// "KPU allocator cannot allocate more memory") and names the sizes in bytes.
class CapacityError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Bad run-time input or setting (a missing image, a raw input of the wrong size,
/// an impossible clock, an unknown parameter).
class InputError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

}  // namespace kpusim
