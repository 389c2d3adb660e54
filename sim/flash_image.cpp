#include "sim/flash_image.h"

#include "sim/atomic_file.h"

#include "models/read_file.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iterator>

#include "flash_spi/spi_flash.h"
#include "models/kmodel_error.h"
#include "models/kmodel_loader.h"

namespace kpusim {

namespace {

std::string hex(uint64_t v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "0x%llX", static_cast<unsigned long long>(v));
    return buf;
}

std::string hex_and_bytes(uint64_t v) { return hex(v) + " (" + std::to_string(v) + " bytes)"; }

bool starts_with(const std::vector<uint8_t>& b, uint8_t b0, uint8_t b1, uint8_t b2, uint8_t b3) {
    return b.size() >= 4 && b[0] == b0 && b[1] == b1 && b[2] == b2 && b[3] == b3;
}

constexpr uint64_t kSectorBytes = 4096;

}  // namespace

std::vector<uint8_t> make_flash_image(const std::vector<uint8_t>& kmodel) {
    return flash_spi::reverse_32bit_words(kmodel);
}

const char* to_string(KmodelByteOrder order) {
    switch (order) {
        case KmodelByteOrder::plain: return "plain";
        case KmodelByteOrder::word_reversed: return "word_reversed";
        case KmodelByteOrder::unknown: return "unknown";
    }
    return "?";
}

KmodelByteOrder detect_byte_order(const std::vector<uint8_t>& bytes) {
    if (starts_with(bytes, 3, 0, 0, 0) || starts_with(bytes, 'L', 'D', 'M', 'K'))
        return KmodelByteOrder::plain;
    if (starts_with(bytes, 0, 0, 0, 3) || starts_with(bytes, 'K', 'M', 'D', 'L'))
        return KmodelByteOrder::word_reversed;
    return KmodelByteOrder::unknown;
}

std::vector<uint8_t> to_plain_kmodel(const std::vector<uint8_t>& bytes, KmodelByteOrder* order) {
    const KmodelByteOrder o = detect_byte_order(bytes);
    if (order) *order = o;
    if (o == KmodelByteOrder::word_reversed) return flash_spi::reverse_32bit_words(bytes);
    return bytes;
}

FlashImagePlan plan_flash_image(uint64_t address, uint64_t image_bytes, uint64_t firmware_bytes) {
    if (address >= flash_spi::kFlashSizeBytes)
        throw InputError("flash address " + hex(address) + " is not inside the 16 MiB flash (0x0.." +
                         hex(flash_spi::kFlashSizeBytes - 1) + ")");
    FlashImagePlan plan;
    plan.address = address;
    plan.image_bytes = image_bytes;
    const uint64_t end = address + image_bytes;  // exclusive
    const std::string range = "[" + hex(address) + ", " + hex(end) + ")";
    if (firmware_bytes > 0 && image_bytes > 0 && address < firmware_bytes)
        plan.warnings.push_back("the image " + range + " overlaps the firmware at [0x0, " +
                                hex(firmware_bytes) + "): writing it would overwrite the last " +
                                hex_and_bytes(std::min(end, firmware_bytes) - address) +
                                " of the firmware; place it at " + hex(firmware_bytes) +
                                " or above (rounded up to 4 KiB: " +
                                hex((firmware_bytes + kSectorBytes - 1) / kSectorBytes * kSectorBytes) +
                                ")");
    if (end > flash_spi::kFlashSizeBytes)
        plan.warnings.push_back("the image " + range + " runs past the end of the 16 MiB flash (" +
                                hex(flash_spi::kFlashSizeBytes) + ") by " +
                                hex_and_bytes(end - std::max(address, flash_spi::kFlashSizeBytes)) +
                                "; the last address it may start at is " +
                                (image_bytes <= flash_spi::kFlashSizeBytes
                                     ? hex(flash_spi::kFlashSizeBytes - image_bytes)
                                     : std::string("none (the image is larger than the flash)")));
    if (address % kSectorBytes != 0)
        plan.warnings.push_back(
            "the address " + hex(address) +
            " is not a multiple of 4 KiB (0x1000): NOR flash is erased in 4 KiB sectors, so "
            "writing the image erases the whole sector " + hex(address / kSectorBytes * kSectorBytes) +
            "-" + hex(address / kSectorBytes * kSectorBytes + kSectorBytes - 1) +
            ", including the " + std::to_string(address % kSectorBytes) +
            " bytes below the address that belong to something else");
    return plan;
}

int flash_image_command(const std::string& model_path, uint64_t address, uint64_t firmware_bytes,
                        const std::string& out_path, std::ostream& out) {
    const std::vector<uint8_t> bytes = read_whole_file(model_path, "model file");
    KmodelByteOrder order = KmodelByteOrder::unknown;
    std::vector<uint8_t> plain = to_plain_kmodel(bytes, &order);
    // Must be a kmodel kpusim reads (throws KmodelError / CapacityError otherwise).
    const Model model = parse_kmodel(plain);
    const std::vector<uint8_t> image = make_flash_image(plain);
    const FlashImagePlan plan = plan_flash_image(address, image.size(), firmware_bytes);

    write_file_atomically(out_path, image, "flash image");

    const uint64_t padding = image.size() - plain.size();
    out << "model: " << model_path << " (kmodel V" << model.version << ", " << bytes.size()
        << " bytes, " << model.layers.size() << " layers, "
        << (order == KmodelByteOrder::word_reversed ? "already word-reversed: reversed back first"
                                                    : "plain byte order")
        << ")\n";
    out << "wrote " << (is_standard_output(out_path) ? std::string("standard output") : out_path) << ": "
        << image.size()
        << " bytes, every 32-bit word byte-reversed (as MaixPy's model_le2be.py)";
    if (padding) out << ", " << padding << " zero byte" << (padding == 1 ? "" : "s") << " of padding";
    out << "\n";
    out << "flash range: [" << hex(address) << ", " << hex(address + image.size()) << ") of the "
        << "16 MiB flash";
    if (firmware_bytes) out << ", firmware at [0x0, " << hex(firmware_bytes) << ")";
    out << "\n";
    for (const std::string& w : plan.warnings) out << "warning: " << w << "\n";
    // MaixPy's demo_load_big_model.py uses batch_size 0xC000; the dual-buffer runner overruns
    // its buffers when batch_size exceeds the largest layer body (timing.md A.5, limits).
    const uint64_t batch = std::min<uint64_t>(0xC000, model.largest_body());
    out << "load it in MaixPy with kpu.load_flash(" << hex(address)
        << ", is_dual_buf, batch_size, spi_speed), e.g. kpu.load_flash(" << hex(address) << ", 1, "
        << hex(batch) << ", 60000000) ";
    if (model.version == 4) {
        // timing.md A.5b: MaixPy's V4 runner never reads batch_size and needs the header,
        // constants and node headers in its first 4 KiB.
        out << "(dual buffer; kmodel V4: batch_size is ignored, one node read at a time)\n";
        if (model.bodies_offset > 4096)
            out << "warning: this V4 model's header, constants and node headers end at byte " << model.bodies_offset
                << ", past the 4096 bytes kpu.load_flash keeps: load it with kpu.load instead\n";
    } else {
        out << "(dual buffer; batch_size must not exceed the largest layer body, " << model.largest_body()
            << " bytes)\n";
    }
    return 0;
}

}  // namespace kpusim
