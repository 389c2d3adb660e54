#include "kpu_core/kpu_timing.h"

#include <cmath>

#include "kpu_core/kpu_ram_layout.h"

namespace kpusim::kpu {

namespace {
uint64_t cycles(double per_unit, uint64_t units) {
    return static_cast<uint64_t>(std::llround(per_unit * static_cast<double>(units)));
}
}  // namespace

uint64_t passes(const LayerArgument& a) {
    const RowLayout in = row_layout(a.in_width());
    const uint64_t groups = (a.in_channels() + in.groups - 1) / in.groups;
    return a.depth_wise_layer ? groups : groups * a.out_channels();
}

uint64_t row_ops(const LayerArgument& a) {
    const RowLayout in = row_layout(a.in_width());
    const uint64_t groups = (a.in_channels() + in.groups - 1) / in.groups;
    const uint64_t per_pass = uint64_t{in.row_len} * a.in_height();
    return a.depth_wise_layer ? per_pass * groups : per_pass * groups * a.out_channels();
}

KpuLayerCycles kpu_layer_cycles(const LayerArgument& a, bool eight_bit, bool main_mem_out,
                                const KpuTimingParameters& p) {
    KpuLayerCycles c;
    c.row_ops = row_ops(a);
    c.passes = passes(a);
    c.output_rows = feature_map_rows(a.out_width(), a.out_height(), a.out_channels());
    c.weight_bytes = a.weight_bytes(eight_bit);
    c.output_bytes = main_mem_out ? uint64_t{a.out_width()} * a.out_height() * a.out_channels() : 0;
    c.main_out = cycles(p.cycles_per_output_byte, c.output_bytes);
    c.write_back = cycles(p.cycles_per_output_row, c.output_rows);
    if (eight_bit) {
        c.compute = cycles(p.cycles_per_row_op, c.row_ops);
        c.weight_fetch = cycles(p.cycles_per_weight_byte, c.weight_bytes);
        c.overhead = cycles(a.depth_wise_layer ? p.depthwise_layer_overhead : p.layer_overhead, 1);
    } else {
        c.compute = cycles(p.w16_cycles_per_row_op, c.row_ops) + cycles(p.w16_cycles_per_pass, c.passes);
        const uint64_t fetch = cycles(p.w16_cycles_per_weight_byte, c.weight_bytes);
        c.weight_fetch = fetch > c.compute + c.write_back ? fetch - c.compute - c.write_back : 0;
        c.overhead = cycles(p.w16_layer_overhead, 1);
    }
    c.total = c.compute + c.write_back + c.weight_fetch + c.main_out + c.overhead;
    return c;
}

}  // namespace kpusim::kpu
