#include "models/kmodel_loader.h"


#include "models/byte_reader.h"
#include "models/kmodel_error.h"
#include "models/kmodel_v3_reader.h"
#include "models/kmodel_v4_reader.h"
#include "models/read_file.h"

namespace kpusim {

namespace {
constexpr uint32_t kKmdlIdentifier = 0x4B4D444C;  // 'KMDL', file bytes "LDMK" (spec §9.1)
}

Model parse_kmodel(std::vector<uint8_t> bytes, const KmodelReadOptions& options) {
    auto file = std::make_shared<const std::vector<uint8_t>>(std::move(bytes));
    const ByteReader r(file->data(), file->size());
    const uint32_t first = r.u32(0, "version");
    const std::string supported = std::string(" (kpusim supports kmodel versions ") +
                                  kSupportedKmodelVersions + ")";
    if (first == 3) return read_kmodel_v3(file, options);
    if (first == kKmdlIdentifier) {
        const uint32_t version = r.u32(4, "version");
        if (version == 4) return read_kmodel_v4(file, options);
        throw KmodelError(KmodelErrorKind::unsupported_version,
                          "kmodel version " + std::to_string(version) +
                              " ('KMDL' container of " +
                              (version == 5   ? "nncase 1.x"
                               : version == 6 ? "nncase 2.x, for the K230"
                                              : "an nncase release kpusim does not know") +
                              ") is not supported" + supported,
                          std::nullopt, "version");
    }
    if (first == 1)
        throw KmodelError(KmodelErrorKind::unsupported_version,
                          "unsupported kmodel version 1: the pre-nncase container of Kendryte's "
                          "TensorFlow-based compiler (kpu_model_load_from_buffer), which the "
                          "SDK's kpu_load_kmodel refuses too" + supported,
                          std::nullopt, "version");
    throw KmodelError(KmodelErrorKind::unsupported_version,
                      "unsupported kmodel version " + std::to_string(first) + supported,
                      std::nullopt, "version");
}

Model load_kmodel(const std::string& path, const KmodelReadOptions& options) {
    return parse_kmodel(read_whole_file(path, "kmodel file"), options);
}

}  // namespace kpusim
