// The two zero-point terms of the KPU convolution (spec §6.2): arg_x times the input sum of
// the window and arg_w times the weight sum, each shifted right with flooring, and the
// granularity at which that flooring happens (spec §17).
//
// Which models the granularity changes: the two rules below give identical results whenever
// arg is a multiple of 2^shr (every shifted product is then exact, so flooring per channel or
// once loses nothing), and whenever the group has a single input channel (depthwise layers,
// IC = 1). nncase's compilers always write such args (0.1: an integer times 2^15 with shift 15;
// 0.2: shift 0), so no nncase-made model changes. Among the team's real models
// (../shared/models) only maixemc_cifar10_v3 changes: Sipeed's Maix-EMC converter wrote
// arg_x -3,909,032 and -3,906,599 with shr_x 15 (tests/test_arg_x_rule.cpp checks both facts).
#pragma once

#include <cstdint>
#include <vector>

#include "kpu_core/conv.h"

namespace kpusim::kpu {

/// Where the KPU floors the arg_x and arg_w terms (spec §17).
enum class ArgXRule {
    /// Default: what a real K210 computes. With S_c the sum of the window's input bytes of
    /// input channel c (padding taps included), the arg_x term is
    /// sum over c of ((arg_x * S_c) >> shr_x): each channel's product floored on its own,
    /// then summed. Observed: only this form reproduces the ten logits a board printed for
    /// Maix-EMC's CIFAR-10 model (spec §17). The same per-channel granularity is applied to
    /// arg_w (sum over c of ((arg_w * W_c) >> shr_w), W_c the weights of channel c in the
    /// output's kernel): INFERRED from the hardware's structure, NOT observed (that capture
    /// has arg_w = 0).
    per_channel,
    /// nncase's emulators (both the 0.1 C# one and the 0.2 / 1.x reference simulator):
    /// (arg_x * sum over c of S_c) >> shr_x, and likewise for arg_w.
    whole_sum,
};

/// "board" (also "per-channel") or "nncase" (also "whole-sum"); throws std::invalid_argument
/// naming the accepted words otherwise.
ArgXRule parse_arg_x_rule(const char* name);
/// "board" or "nncase".
const char* to_string(ArgXRule rule);

/// True when the two rules give the same term for every sum: arg is a multiple of 2^shift
/// (shift 0..63).
bool arg_rules_agree(int64_t arg, uint32_t shift);

/// The arg_x term of every output position, for the group of input channels
/// [c0, c0 + count) of `in` (the k x k window at each of the height x width positions,
/// padding taps included). `term` receives height x width values (row-major).
/// The per-channel window sums are computed only when the rules can differ
/// (rule per_channel, count > 1 and arg_x not a multiple of 2^shr_x); otherwise the term is
/// (arg_x * S) >> shr_x of the summed window, which is then identical.
/// Ranges: |arg_x| <= 2^23, S_c <= 9 x 255, count <= 1024: every value fits in int64.
void input_sum_term(const PaddedInput& in, uint32_t kernel, uint32_t c0, uint32_t count,
                    int32_t arg_x, uint32_t shr_x, ArgXRule rule, std::vector<int64_t>& term);

/// The arg_w term of one output channel: `weights` holds `count` x `taps` values
/// ([channel][tap], taps = k x k), `shr_w` 0..63. Per channel (rule per_channel) or whole;
/// the two are computed the same way when they cannot differ (arg_w a multiple of 2^shr_w).
int64_t weight_sum_term(const int32_t* weights, uint32_t count, uint32_t taps, int32_t arg_w,
                        uint32_t shr_w, ArgXRule rule);
/// The same for 8-bit weights as the kmodel stores them (one byte each).
int64_t weight_sum_term(const uint8_t* weights, uint32_t count, uint32_t taps, int32_t arg_w,
                        uint32_t shr_w, ArgXRule rule);

}  // namespace kpusim::kpu
