// The flash image MaixPy's kpu.load_flash reads a model from.
//
// kpu.load_flash reads the flash with 32-bit SSI frames, which deliver every 4-byte group
// byte-reversed (timing.md A.5; flash_spi/spi_flash.h). MaixPy's tool model_le2be.py
// (sipeed/MaixPy_scripts machine_vision/) therefore writes models to flash with the bytes
// of every 32-bit word reversed, padded with zero bytes to a multiple of 4; the two
// reversals cancel. MaixPy's own face_model_be_at_0x600000.kfpkg holds such an image of
// face_detect_maixpy_v3/facedetect.kmodel (its SOURCE.md). The image is then written at a
// flash address (e.g. with kflash) and loaded with kpu.load_flash(address, ...).
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace kpusim {

/// The flash image of a kmodel: flash_spi::reverse_32bit_words(kmodel), i.e. zero-padded
/// to a multiple of 4 bytes, then the bytes of every 32-bit word reversed (byte 4k+j of
/// the image is byte 4k+3-j of the padded model).
std::vector<uint8_t> make_flash_image(const std::vector<uint8_t>& kmodel);

/// Which way a kmodel's bytes are ordered.
enum class KmodelByteOrder {
    plain,          ///< as nncase writes it: kpu.load and kpusim read it
    word_reversed,  ///< every 32-bit word byte-reversed: a kpu.load_flash image
    unknown,        ///< neither start is recognised
};
/// "plain", "word_reversed" or "unknown".
const char* to_string(KmodelByteOrder order);

/// Recognises a kmodel's byte order by its first 4 bytes:
/// - plain: the first little-endian u32 is 3 (V3: bytes 03 00 00 00) or the bytes are
///   "LDMK" (the 'KMDL' magic of V4/V5, kmodel-spec.md);
/// - word_reversed: the bytes are 00 00 00 03 or "KMDL" (the same words reversed);
/// - unknown otherwise, or when there are fewer than 4 bytes.
KmodelByteOrder detect_byte_order(const std::vector<uint8_t>& bytes);

/// The plain form of a kmodel given in either order: `bytes` unchanged when plain (or
/// unknown), every 32-bit word reversed back when word_reversed. A flash image keeps the
/// zero bytes model_le2be.py padded it with (fewer than 4; the V3 reader ignores bytes
/// after the last layer body). `order`, if not null, receives detect_byte_order(bytes).
std::vector<uint8_t> to_plain_kmodel(const std::vector<uint8_t>& bytes, KmodelByteOrder* order = nullptr);

/// Where an image goes in the board's flash, and what is wrong with that place.
struct FlashImagePlan {
    uint64_t address = 0;      ///< flash address of the image's first byte
    uint64_t image_bytes = 0;  ///< image size in bytes
    std::vector<std::string> warnings;  ///< one sentence each; empty when the place is fine
};

/// Checks the flash range [address, address + image_bytes) of a 16 MiB board flash
/// (flash_spi::kFlashSizeBytes = 16,777,216 bytes; timing.md A.6). Warns (one sentence each,
/// numbers in hex and bytes) when:
/// - the range overlaps the firmware at [0, firmware_bytes) (firmware_bytes 0 = unknown:
///   no check): writing it would overwrite the firmware;
/// - the range runs past the end of the 16 MiB flash;
/// - the address is not a multiple of 4 KiB: NOR flash is erased in 4 KiB sectors, so
///   writing the image erases the start of its first sector, which holds whatever lies
///   below the address.
/// @throws InputError when `address` is not inside the flash (>= 16 MiB): no range is
///         computed from it (a huge address would wrap).
FlashImagePlan plan_flash_image(uint64_t address, uint64_t image_bytes, uint64_t firmware_bytes);

/// The `kpusim flash-image` command: reads the kmodel at `model_path` (plain or already
/// word-reversed), checks that its plain form parses as a kmodel (parse_kmodel), writes
/// make_flash_image(plain form) to `out_path`, and prints to `out` what it wrote, the
/// plan_flash_image warnings ("warning: ...") and the MaixPy call that loads it.
/// @param address        flash address the image is meant for (bytes).
/// @param firmware_bytes size of the firmware at flash address 0 in bytes (0 = unknown).
/// @return 0.
/// @throws InputError when the model cannot be read, the address is not inside the flash
///         (plan_flash_image; checked before anything is written) or the image cannot be written;
///         KmodelError / CapacityError when the model does not parse (e.g. V4/V5, which
///         kpusim does not run).
int flash_image_command(const std::string& model_path, uint64_t address, uint64_t firmware_bytes,
                        const std::string& out_path, std::ostream& out);

}  // namespace kpusim
