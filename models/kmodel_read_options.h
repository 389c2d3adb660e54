// Options of the kmodel readers: how strictly a file is held to what the standard Kendryte
// SDK runs.
#pragma once

namespace kpusim {

struct KmodelReadOptions {
    /// Refuse every layer type the standard SDK's kpu.c refuses ("Layer is not supported."),
    /// also those another runtime runs. Default false: layer type 21
    /// (QUANTIZED_TENSORFLOW_FLATTEN) is accepted and run as Maix-EMC's modified kpu.c runs it
    /// (spec §17), and the Model carries a note saying so.
    bool strict_sdk = false;
};

}  // namespace kpusim
