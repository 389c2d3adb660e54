#include "kpusim/kpusim.h"

#include <openssl/evp.h>

#include <stdexcept>

#include "models/kmodel_loader.h"
#include "models/read_file.h"
#include "sim/flash_image.h"
#include "sim/simulate.h"

#ifndef KPUSIM_VERSION
#define KPUSIM_VERSION "0.0.0"
#endif

namespace kpusim {

const char* version() noexcept { return KPUSIM_VERSION; }

Model load_model(const std::string& path) {
    return parse_kmodel(to_plain_kmodel(read_whole_file(path, "kmodel file")));
}

RunResult simulate(const Model& model, const std::vector<uint8_t>& input, const RunSettings& settings) {
    return run_standalone(model, input, settings);
}

std::string model_sha256(const Model& model) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    const std::vector<uint8_t> empty;
    const std::vector<uint8_t>& bytes = model.file ? *model.file : empty;
    if (!EVP_Digest(bytes.data(), bytes.size(), digest, &length, EVP_sha256(), nullptr))
        throw std::runtime_error("SHA-256 of the model failed (OpenSSL)");
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < length; ++i) {
        out += hex[digest[i] >> 4];
        out += hex[digest[i] & 15];
    }
    return out;
}

}  // namespace kpusim
