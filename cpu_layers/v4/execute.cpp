// Dispatch of the V4 CPU kernels and the range checks of execute().
#include <stdexcept>
#include <string>
#include <type_traits>

#include "cpu_layers/v4/v4_kernel_support.h"

namespace kpusim::v4 {

namespace detail {

uint8_t* base(const Memories& mem, const MemoryRange& r) {
    switch (r.memory) {
    case MemoryType::constant: return const_cast<uint8_t*>(mem.constants) + r.start;  // read only: never written
    case MemoryType::main: return mem.main + r.start;
    case MemoryType::kpu: return mem.kpu_ram + r.start;
    }
    return nullptr;
}

}  // namespace detail

void execute(const CpuNode& node, const Memories& mem) {
    auto check = [&](const MemoryRange& r) {
        const void* p = r.memory == MemoryType::constant ? static_cast<const void*>(mem.constants)
                        : r.memory == MemoryType::main   ? static_cast<const void*>(mem.main)
                                                         : static_cast<const void*>(mem.kpu_ram);
        if (r.size == 0) return;
        if (!p || r.end() > mem.sizes.of(r.memory))
            throw std::runtime_error(std::string("V4 node ") + (opcode_name(node.opcode) ? opcode_name(node.opcode) : "?") +
                                     ": range " + std::to_string(r.start) + ".." + std::to_string(r.end()) +
                                     " is not inside the " + to_string(r.memory) + " memory given to execute()");
    };
    for (const auto& r : node_inputs(node)) check(r);
    for (const auto& r : node_outputs(node)) check(r);
    std::visit([&](const auto& op) { detail::run(op, mem); }, node.op);
}

}  // namespace kpusim::v4
