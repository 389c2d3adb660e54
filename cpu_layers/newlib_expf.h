// The single-precision exponential of the K210 firmware's C library (spec §15).
#pragma once

namespace kpusim::cpu {

/// e^x in single precision, bit-exact to what the K210 firmware's `expf` returns: newlib's
/// older fdlibm-derived algorithm (libm/math, selected by the GCC 8 RISC-V newlib builds;
/// its `expf` wrapper returns the core result unchanged because those builds default to
/// `_LIB_VERSION == _IEEE_`), as compiled for rv64imafc with GCC's default
/// -ffp-contract=fast, i.e. with the multiply-adds fused where GCC fuses them.
///
/// - NaN in: the RISC-V canonical NaN (0x7fc00000) out; +inf -> +inf; -inf -> +0.
/// - x > 88.7228317 (bits 0x42b17217): +inf (overflow); x < -103.972084 (0xc2cff1b5): +0.
/// - |x| < 2^-28: 1 + x.
/// Otherwise within 1 ulp of the exact e^x (subnormal results included).
/// Source: spec §15 ("expf"), §14 item 7.
float newlib_expf(float x);

}  // namespace kpusim::cpu
