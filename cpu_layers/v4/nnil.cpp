// nnil_unary_method (kmodel-spec §9.6): a straight-line stack program run once per element.
// parse_cpu_node has checked the program statically (opcodes, ldc_r4 operands, stack depth
// 1..64), so the interpreter cannot fault; it still refuses a broken program with a
// std::runtime_error rather than touching memory out of bounds.
#include <cstring>
#include <stdexcept>

#include "cpu_layers/v4/v4_kernel_support.h"

namespace kpusim::v4::detail {

void run(const NnilUnaryMethodOp& o, const Memories& m) {
    const uint8_t* in = base(m, o.in);
    uint8_t* out = base(m, o.out);
    const uint64_t n = o.in.size / 4;
    const auto& prog = o.program;
    float stack[kNnilStackDepth];
    auto broken = [] { throw std::runtime_error("V4 node nnil_unary_method: malformed nnil program"); };
    for (uint64_t e = 0; e < n; ++e) {
        uint32_t sp = 0;
        auto push = [&](float v) {
            if (sp >= kNnilStackDepth) broken();
            stack[sp++] = v;
        };
        auto pop = [&]() {
            if (sp == 0) broken();
            return stack[--sp];
        };
        size_t pc = 0;
        while (pc < prog.size()) {
            const uint8_t op = prog[pc++];
            if (op == 0x00) continue;
            if (op == 0x01) { const float v = pop(); push(v); push(v); }
            else if (op == 0x02) pop();
            else if (op == 0x03) push(ld(in, e));
            else if (op == 0x04) push(0.0f);
            else if (op == 0x05) push(1.0f);
            else if (op == 0x06) {
                if (prog.size() - pc < 4) broken();
                float c;
                std::memcpy(&c, prog.data() + pc, 4);
                pc += 4;
                push(c);
            } else if (op >= 0x20 && op <= 0x29) push(unary(static_cast<UnaryOpKind>(op - 0x20), pop()));
            else if (op >= 0x40 && op <= 0x45) {
                const float b = pop();
                const float a = pop();
                push(binary(static_cast<BinaryOpKind>(op - 0x40), a, b));
            } else if (op == 0x80) {
                const float high = pop();
                const float low = pop();
                const float v = pop();
                push(rv_clamp(v, low, high));
            } else if (op == 0xA0) {
                st_bits(out, e, pop());  // a copy of the top: lda_0; ret keeps the input's bits
                break;
            } else broken();
        }
    }
}

}  // namespace kpusim::v4::detail
