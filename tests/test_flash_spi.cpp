// Tests of the SPI clock divider (flash_spi/spi_clock.h), the read-command table
// (flash_spi/spi_read_command.h) and the SPI flash target (flash_spi/spi_flash.h).
//
// A SystemC kernel elaborates once per process: every TEST below that builds modules builds
// its own bench and relies on running in its own process (gtest_discover_tests does that;
// by hand, run one --gtest_filter per process).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>

#include "tests/tlm_test_initiator.h"
#include "flash_spi/spi_clock.h"
#include "flash_spi/spi_flash.h"
#include "flash_spi/spi_read_command.h"
#include "models/kmodel_error.h"

namespace {

using namespace kpusim::test;

using namespace kpusim::flash_spi;
using kpusim::InputError;
using sc_core::sc_time;

constexpr uint64_t kMHz = 1'000'000;
constexpr uint64_t kModelAddress = 0x300000;  // where MaixPy models conventionally sit

// ---------------------------------------------------------------------------------------
// Benches

struct FlashBench : sc_core::sc_module {
    Initiator initiator;
    SpiFlash flash;
    FlashBench(sc_core::sc_module_name name, const SpiFlashConfig& config)
        : sc_core::sc_module(name), initiator("initiator"), flash("flash", config) {
        initiator.socket.bind(flash.socket);
    }
};



// Deterministic pseudo-random bytes.
std::vector<uint8_t> pattern(size_t n, uint32_t seed = 12345) {
    std::vector<uint8_t> v(n);
    uint32_t x = seed;
    for (auto& b : v) {
        x = x * 1664525u + 1013904223u;
        b = static_cast<uint8_t>(x >> 24);
    }
    return v;
}

// Independent floating-point version of timing.md C.3 for a quad 0xEB read, in ps.
double hand_formula_ps(double source_hz, double divider, double cpu_hz, double commands,
                       double wire_bytes, double sw_cycles) {
    const double sck_cycles = commands * 20.0 + 2.0 * wire_bytes;
    return sck_cycles * divider / source_hz * 1e12 + commands * sw_cycles / cpu_hz * 1e12;
}

// Expects InputError whose message contains every string in `parts`.
template <class F>
void expect_input_error(F&& f, const std::vector<std::string>& parts) {
    try {
        f();
        ADD_FAILURE() << "no InputError thrown";
    } catch (const InputError& e) {
        const std::string what = e.what();
        for (const auto& p : parts) EXPECT_NE(what.find(p), std::string::npos) << what;
    }
}

// ---------------------------------------------------------------------------------------
// SPI clock

TEST(SpiClock, ReproducesThePublishedDividers) {
    const SpiClock a = resolve_spi_clock(481 * kMHz, 80 * kMHz);
    EXPECT_EQ(a.divider, 6u);
    EXPECT_EQ(a.actual_hz, 80'166'666u);
    EXPECT_NEAR(a.actual_hz_exact(), 80'166'666.667, 0.001);
    EXPECT_EQ(a.source_hz, 481 * kMHz);
    EXPECT_EQ(a.requested_hz, 80 * kMHz);

    const SpiClock b = resolve_spi_clock(403 * kMHz, 60 * kMHz);
    EXPECT_EQ(b.divider, 6u);
    EXPECT_EQ(b.actual_hz, 67'166'666u);

    const SpiClock c = resolve_spi_clock(400 * kMHz, 80 * kMHz);  // exact division
    EXPECT_EQ(c.divider, 5u);
    EXPECT_EQ(c.actual_hz, 80 * kMHz);
}

TEST(SpiClock, ClampsVerySlowRequestsLikeTheSdk) {
    const SpiClock c = resolve_spi_clock(400 * kMHz, 1000);  // floor(400e6/1000) = 400000
    EXPECT_EQ(c.divider, kSpiMaxDivider);
    EXPECT_EQ(c.actual_hz, 400 * kMHz / 65534);
}

TEST(SpiClock, RejectsImpossibleSettingsWithClearMessages) {
    expect_input_error([] { resolve_spi_clock(481 * kMHz, 0); }, {"0 Hz", "481000000"});
    expect_input_error([] { resolve_spi_clock(0, 80 * kMHz); }, {"source", "0 Hz"});
    // Above f_src / 2: names the request, the source and the maximum.
    expect_input_error([] { resolve_spi_clock(400 * kMHz, 250 * kMHz); },
                       {"250000000", "400000000", "200000000"});
    expect_input_error([] { resolve_spi_clock(481 * kMHz, 240'500'001); }, {"240500000"});
    // 481 MHz / floor(4.81) = 120.25 MHz > SPI3's 100 MHz.
    expect_input_error([] { resolve_spi_clock(481 * kMHz, 100 * kMHz); },
                       {"120250000", "100000000", "SPI3"});
    // f_src / 2 exactly is a legal divider, but 200 MHz is above SPI3's limit...
    EXPECT_THROW(resolve_spi_clock(400 * kMHz, 200 * kMHz), InputError);
    // ...and fine for a controller allowed 250 MHz.
    EXPECT_EQ(resolve_spi_clock(400 * kMHz, 200 * kMHz, 250 * kMHz).divider, 2u);
    // 400 MHz / 4 = 100 MHz exactly is allowed.
    EXPECT_EQ(resolve_spi_clock(400 * kMHz, 100 * kMHz).actual_hz, 100 * kMHz);
}

TEST(SpiClock, CyclesToPicosecondsRoundsOnceFromTheExactRational) {
    EXPECT_EQ(cycles_to_picoseconds(1, 100 * kMHz), 10'000u);
    EXPECT_EQ(cycles_to_picoseconds(0, 100 * kMHz), 0u);
    // 3 cycles at 481 MHz / 6: 18e12 / 481e6 = 37,422.03 ps.
    EXPECT_EQ(cycles_to_picoseconds(3, 481 * kMHz, 6), 37'422u);
    // 1 cycle at 481 MHz / 6 is 12,474.01 ps; 3 of them rounded once, not 3 × 12,474.
    EXPECT_EQ(resolve_spi_clock(481 * kMHz, 80 * kMHz).cycles_to_ps(3), 37'422u);
    // Halves round up: 2 cycles at 4e12 Hz = 0.5 ps -> 1 ps.
    EXPECT_EQ(cycles_to_picoseconds(2, 4'000'000'000'000ull), 1u);
    EXPECT_THROW(cycles_to_picoseconds(1, 0), InputError);
    EXPECT_THROW(cycles_to_picoseconds(std::numeric_limits<uint64_t>::max(), 1, 65534),
                 InputError);
}

// ---------------------------------------------------------------------------------------
// Read commands

TEST(SpiReadCommand, TableHasTheDocumentedPhaseCycles) {
    struct Expect {
        uint8_t opcode;
        uint32_t instr, addr, dummy, lanes;
        bool ddr;
        uint64_t cycles_4_bytes;  // command_sck_cycles(cmd, 4)
    };
    const std::vector<Expect> expected = {
        {0x03, 8, 24, 0, 1, false, 8 + 24 + 0 + 32},
        {0x0B, 8, 24, 8, 1, false, 8 + 24 + 8 + 32},
        {0x3B, 8, 24, 8, 2, false, 8 + 24 + 8 + 16},
        {0xBB, 8, 16, 0, 2, false, 8 + 16 + 0 + 16},
        {0x6B, 8, 24, 8, 4, false, 8 + 24 + 8 + 8},
        {0xEB, 8, 8, 4, 4, false, 8 + 8 + 4 + 8},
        {0x8B, 8, 24, 8, 8, false, 8 + 24 + 8 + 4},
        {0xCB, 8, 3, 16, 8, false, 8 + 3 + 16 + 4},
        {0x0D, 8, 12, 6, 1, true, 8 + 12 + 6 + 16},
        {0xBD, 8, 8, 6, 2, true, 8 + 8 + 6 + 8},
        {0xED, 8, 4, 8, 4, true, 8 + 4 + 8 + 4},
        {0xFD, 1, 2, 20, 8, true, 1 + 2 + 20 + 2},
    };
    ASSERT_EQ(spi_read_commands().size(), expected.size());
    for (const Expect& e : expected) {
        SCOPED_TRACE(e.opcode);
        const SpiReadCommand& c = read_command(e.opcode);
        EXPECT_EQ(c.opcode, e.opcode);
        EXPECT_EQ(c.instruction_cycles, e.instr);
        EXPECT_EQ(c.address_cycles, e.addr);
        EXPECT_EQ(c.dummy_cycles, e.dummy);
        EXPECT_EQ(c.data_lanes, e.lanes);
        EXPECT_EQ(c.ddr, e.ddr);
        EXPECT_EQ(overhead_sck_cycles(c), uint64_t{e.instr} + e.addr + e.dummy);
        EXPECT_EQ(command_sck_cycles(c, 4), e.cycles_4_bytes);
        EXPECT_EQ(command_sck_cycles(c, 0), overhead_sck_cycles(c));
        // The K210 board flash runs 1/2/4-lane SDR; the rest are projections.
        EXPECT_EQ(c.projection, e.lanes == 8 || e.ddr);
        EXPECT_NE(std::string(c.source), "");
    }
    // The flash runner's command: 20 overhead SCK + 2 per byte (timing.md A.5).
    EXPECT_EQ(command_sck_cycles(read_command(0xEB), 4096), 8212u);
    EXPECT_EQ(command_sck_cycles(read_command(0xEB), 262144), 20u + 524288u);
}

TEST(SpiReadCommand, DataCyclesRoundUpToWholeClocks) {
    EXPECT_EQ(data_sck_cycles(read_command(0xEB), 1), 2u);
    EXPECT_EQ(data_sck_cycles(read_command(0x03), 3), 24u);
    EXPECT_EQ(data_sck_cycles(read_command(0xFD), 3), 2u);  // 24 bits at 16 bits per clock
    EXPECT_EQ(data_sck_cycles(read_command(0xFD), 4), 2u);
    EXPECT_EQ(data_sck_cycles(read_command(0xCB), 5), 5u);
    EXPECT_EQ(data_sck_cycles(read_command(0xED), 1), 1u);
    const uint64_t big = std::numeric_limits<uint64_t>::max() / 4;
    EXPECT_EQ(data_sck_cycles(read_command(0xEB), big), big * 2);  // no overflow in 8·bytes
}

TEST(SpiReadCommand, ChoosesTheIoVariantPerLaneSetting) {
    EXPECT_EQ(choose_read_command(1, false).opcode, 0x0B);
    EXPECT_EQ(choose_read_command(2, false).opcode, 0xBB);
    EXPECT_EQ(choose_read_command(4, false).opcode, 0xEB);
    EXPECT_EQ(choose_read_command(8, false).opcode, 0xCB);
    EXPECT_EQ(choose_read_command(1, true).opcode, 0x0D);
    EXPECT_EQ(choose_read_command(2, true).opcode, 0xBD);
    EXPECT_EQ(choose_read_command(4, true).opcode, 0xED);
    EXPECT_EQ(choose_read_command(8, true).opcode, 0xFD);
    expect_input_error([] { choose_read_command(3, false); }, {"3 data lanes"});
    EXPECT_THROW(choose_read_command(0, true), InputError);
    expect_input_error([] { read_command(0x42); }, {"0x42"});
}

// ---------------------------------------------------------------------------------------
// Configuration and the read-time formula (no modules)

TEST(SpiFlashConfig, PresetsFollowMaixPy) {
    const SpiFlashConfig runner = flash_runner_config(481 * kMHz, 80 * kMHz);
    EXPECT_EQ(runner.lanes, 4u);
    EXPECT_FALSE(runner.ddr);
    EXPECT_EQ(runner.frame_bits, 32u);
    EXPECT_EQ(runner.max_bytes_per_command, 256u * 1024);
    EXPECT_EQ(runner.source_hz, 481 * kMHz);
    EXPECT_EQ(runner.cpu_hz, 481 * kMHz);
    EXPECT_EQ(runner.software_cycles_per_command, kSoftwareCyclesPerCommand);
    EXPECT_FALSE(is_projection(runner));

    const SpiFlashConfig load = kpu_load_config(481 * kMHz);
    EXPECT_EQ(load.frame_bits, 8u);
    EXPECT_EQ(load.max_bytes_per_command, 64u * 1024);
    const SpiClock clk = resolve_spi_clock(load.source_hz, load.requested_sck_hz);
    EXPECT_EQ(clk.divider, 16u);
    EXPECT_EQ(clk.actual_hz, 30'062'500u);  // "≈30 MHz at 481 MHz" (timing.md A.4)
    EXPECT_EQ(resolve_spi_clock(400 * kMHz, kpu_load_config(400 * kMHz).requested_sck_hz).actual_hz,
              25 * kMHz);

    SpiFlashConfig octal = runner;
    octal.lanes = 8;
    EXPECT_TRUE(is_projection(octal));
}

TEST(SpiFlashConfig, ValidateRejectsBadFields) {
    const SpiFlashConfig good = flash_runner_config(400 * kMHz, 80 * kMHz);
    EXPECT_NO_THROW(validate(good));
    SpiFlashConfig c = good;
    c.lanes = 3;
    expect_input_error([&] { validate(c); }, {"3 data lanes"});
    c = good;
    c.frame_bits = 16;
    expect_input_error([&] { validate(c); }, {"frame_bits 16"});
    c = good;
    c.max_bytes_per_command = 0;
    expect_input_error([&] { validate(c); }, {"max_bytes_per_command 0"});
    c = good;
    c.max_bytes_per_command = 1002;  // not a whole number of 32-bit frames
    expect_input_error([&] { validate(c); }, {"1002", "4-byte frame"});
    c = good;
    c.max_bytes_per_command = 512 * 1024;  // 131,072 frames
    expect_input_error([&] { validate(c); }, {"524288", "65536"});
    c = kpu_load_config(400 * kMHz);
    c.max_bytes_per_command = 128 * 1024;  // 8-bit frames: 64 KiB at most
    expect_input_error([&] { validate(c); }, {"131072", "65536 8-bit frames"});
    c = good;
    c.cpu_hz = 0;
    expect_input_error([&] { validate(c); }, {"cpu_hz"});
    c = good;
    c.requested_sck_hz = 0;
    EXPECT_THROW(validate(c), InputError);
    EXPECT_THROW(read_time(c, 4), InputError);
}

TEST(SpiFlashReadTime, SplitsIntoCommandsAndAddsBothClockDomains) {
    const SpiFlashConfig cfg = flash_runner_config(481 * kMHz, 80 * kMHz);  // SCK 80.166 MHz
    const FlashReadTiming t = read_time(cfg, 776'360);
    EXPECT_EQ(t.bytes, 776'360u);
    EXPECT_EQ(t.wire_bytes, 776'360u);
    EXPECT_EQ(t.commands, 3u);  // 256 KiB + 256 KiB + 252,072 B
    EXPECT_EQ(t.overhead_sck_cycles, 60u);
    EXPECT_EQ(t.data_sck_cycles, 1'552'720u);
    EXPECT_EQ(t.sck_cycles, 1'552'780u);
    EXPECT_EQ(t.cpu_cycles, 3u * kSoftwareCyclesPerCommand);
    EXPECT_EQ(t.sck_ps, cycles_to_picoseconds(1'552'780, 481 * kMHz, 6));
    EXPECT_EQ(t.cpu_ps, cycles_to_picoseconds(3 * kSoftwareCyclesPerCommand, 481 * kMHz));
    EXPECT_EQ(t.total_ps, t.sck_ps + t.cpu_ps);
    EXPECT_NEAR(static_cast<double>(t.total_ps),
                hand_formula_ps(481e6, 6, 481e6, 3, 776'360, kSoftwareCyclesPerCommand), 2.0);
    // ≈ 19.37 ms of SCK plus 7.5 µs of software.
    EXPECT_NEAR(t.total_ps * 1e-9, 19.37, 0.01);
    EXPECT_EQ(t.time(), sc_time(static_cast<double>(t.total_ps), sc_core::SC_PS));

    // Exactly one full command, and one byte more.
    EXPECT_EQ(read_time(cfg, 262'144).commands, 1u);
    EXPECT_EQ(read_time(cfg, 262'145).commands, 2u);
    EXPECT_EQ(read_time(cfg, 262'145).wire_bytes, 262'148u);
}

TEST(SpiFlashReadTime, ThirtyTwoBitFramesRoundTheLengthUpAndZeroCostsNothing) {
    SpiFlashConfig cfg = flash_runner_config(400 * kMHz, 80 * kMHz);
    cfg.software_cycles_per_command = 1200;  // a standalone user charging the CPU's cost here
    const FlashReadTiming t = read_time(cfg, 10);
    EXPECT_EQ(t.wire_bytes, 12u);
    EXPECT_EQ(t.commands, 1u);
    EXPECT_EQ(t.sck_cycles, 20u + 24u);
    // 44 SCK at 80 MHz = 550 ns; 1,200 CPU cycles at 400 MHz = 3 µs.
    EXPECT_EQ(t.sck_ps, 550'000u);
    EXPECT_EQ(t.cpu_ps, 3'000'000u);

    SpiFlashConfig bytes8 = cfg;
    bytes8.frame_bits = 8;
    bytes8.max_bytes_per_command = kKpuLoadMaxCommandBytes;  // 65,536 8-bit frames at most
    EXPECT_EQ(read_time(bytes8, 10).wire_bytes, 10u);
    EXPECT_EQ(read_time(bytes8, 10).sck_cycles, 40u);

    const FlashReadTiming zero = read_time(cfg, 0);
    EXPECT_EQ(zero.commands, 0u);
    EXPECT_EQ(zero.total_ps, 0u);
}

TEST(SpiFlashReadTime, AFasterSckNeverMakesAReadSlower) {
    for (uint64_t source : {400 * kMHz, 481 * kMHz, 403 * kMHz}) {
        for (uint64_t bytes : {uint64_t{4096}, uint64_t{776'360}}) {
            uint64_t previous = std::numeric_limits<uint64_t>::max();
            uint64_t previous_sck = 0;
            int checked = 0;
            for (uint64_t req = 10 * kMHz; req <= 100 * kMHz; req += kMHz) {
                const SpiFlashConfig cfg = flash_runner_config(source, req);
                const uint64_t div = source / req;
                if (source > 100 * kMHz * div) {  // SCK above SPI3's 100 MHz: must be refused
                    EXPECT_THROW(read_time(cfg, bytes), InputError) << source << " " << req;
                    continue;
                }
                const FlashReadTiming t = read_time(cfg, bytes);
                const uint64_t sck = source / div;
                EXPECT_GE(sck, previous_sck);
                EXPECT_LE(t.total_ps, previous) << "source " << source << " request " << req;
                previous = t.total_ps;
                previous_sck = sck;
                ++checked;
            }
            EXPECT_GE(checked, 60);
        }
    }
}

TEST(SpiFlashImage, Reverse32BitWordsPadsAndSwaps) {
    EXPECT_EQ(reverse_32bit_words({1, 2, 3, 4, 5, 6}),
              (std::vector<uint8_t>{4, 3, 2, 1, 0, 0, 6, 5}));
    EXPECT_TRUE(reverse_32bit_words({}).empty());
    const std::vector<uint8_t> p = pattern(1000);
    EXPECT_EQ(reverse_32bit_words(reverse_32bit_words(p)), p);
}

// ---------------------------------------------------------------------------------------
// The module

TEST(SpiFlash, BTransportDelayEqualsTheFormulaForOneCommand) {
    const SpiFlashConfig cfg = flash_runner_config(481 * kMHz, 80 * kMHz);
    FlashBench bench("bench", cfg);
    sc_core::sc_start(sc_core::SC_ZERO_TIME);
    EXPECT_EQ(bench.flash.clock().divider, 6u);
    EXPECT_EQ(bench.flash.clock().actual_hz, 80'166'666u);
    EXPECT_EQ(bench.flash.command().opcode, 0xEB);
    EXPECT_EQ(bench.flash.size(), 16u * 1024 * 1024);

    std::vector<uint8_t> buf(4096);
    const Result r = transact(bench.initiator.socket, tlm::TLM_READ_COMMAND, kModelAddress,
                              buf.data(), 4096);
    ASSERT_EQ(r.status, tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(r.delay, read_time(cfg, 4096).time());
    EXPECT_EQ(r.delay, bench.flash.read_time(4096).time());
    EXPECT_NEAR(r.delay.to_seconds() * 1e12,
                hand_formula_ps(481e6, 6, 481e6, 1, 4096, kSoftwareCyclesPerCommand), 2.0);
    EXPECT_EQ(bench.flash.commands_issued(), 1u);
    EXPECT_EQ(bench.flash.bytes_read(), 4096u);
    EXPECT_EQ(bench.flash.transactions(), 1u);
    EXPECT_EQ(bench.flash.busy_ps(), read_time(cfg, 4096).total_ps);
    EXPECT_EQ(buf, std::vector<uint8_t>(4096, 0xFF));  // erased flash
}

TEST(SpiFlash, MultiCommandReadOfAReversedModelGivesBackTheModel) {
    const SpiFlashConfig cfg = flash_runner_config(481 * kMHz, 80 * kMHz);
    FlashBench bench("bench", cfg);
    sc_core::sc_start(sc_core::SC_ZERO_TIME);
    const std::vector<uint8_t> model = pattern(776'360);
    bench.flash.program(kModelAddress, reverse_32bit_words(model));

    std::vector<uint8_t> buf(model.size());
    const Result r = transact(bench.initiator.socket, tlm::TLM_READ_COMMAND, kModelAddress,
                              buf.data(), static_cast<unsigned int>(buf.size()));
    ASSERT_EQ(r.status, tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(buf, model);
    EXPECT_EQ(r.delay, read_time(cfg, 776'360).time());
    EXPECT_NEAR(r.delay.to_seconds() * 1e12,
                hand_formula_ps(481e6, 6, 481e6, 3, 776'360, kSoftwareCyclesPerCommand), 2.0);
    EXPECT_EQ(bench.flash.commands_issued(), 3u);
    EXPECT_EQ(bench.flash.bytes_read(), 776'360u);
    EXPECT_EQ(bench.flash.wire_bytes_read(), 776'360u);

    // Issuing the runner's ≤ 256 KiB chunks one by one costs the same in total.
    bench.flash.reset_counters();
    sc_time sum = sc_core::SC_ZERO_TIME;
    for (uint64_t off = 0; off < model.size(); off += kFlashRunnerMaxCommandBytes) {
        const uint64_t n = std::min<uint64_t>(kFlashRunnerMaxCommandBytes, model.size() - off);
        // Each command is issued when the previous one ends (its annotated delay), so none
        // queues behind another at the controller.
        const Result c = transact(bench.initiator.socket, tlm::TLM_READ_COMMAND,
                                  kModelAddress + off, buf.data() + off, static_cast<unsigned int>(n), sum);
        ASSERT_EQ(c.status, tlm::TLM_OK_RESPONSE);
        sum = c.delay;
    }
    EXPECT_EQ(buf, model);
    EXPECT_EQ(bench.flash.commands_issued(), 3u);
    EXPECT_NEAR(sum.to_seconds() * 1e12, r.delay.to_seconds() * 1e12, 3.0);
}

TEST(SpiFlash, ThirtyTwoBitFramesReverseEveryGroupIncludingAPartialTail) {
    FlashBench bench("bench", flash_runner_config(400 * kMHz, 80 * kMHz));
    sc_core::sc_start(sc_core::SC_ZERO_TIME);
    const std::vector<uint8_t> model = pattern(1003);  // not a multiple of 4
    const std::vector<uint8_t> image = reverse_32bit_words(model);
    ASSERT_EQ(image.size(), 1004u);
    bench.flash.program(kModelAddress, image);

    // The raw flash holds the reversed image (debug transport shows stored bytes).
    std::vector<uint8_t> raw(1004);
    EXPECT_EQ(debug(bench.initiator.socket, tlm::TLM_READ_COMMAND, kModelAddress, raw.data(), 1004),
              1004u);
    EXPECT_EQ(raw, image);

    // A timed read of the odd length gives back the model.
    std::vector<uint8_t> buf(1003);
    const Result r =
        transact(bench.initiator.socket, tlm::TLM_READ_COMMAND, kModelAddress, buf.data(), 1003);
    ASSERT_EQ(r.status, tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(buf, model);
    EXPECT_EQ(bench.flash.wire_bytes_read(), 1004u);

    // A plain (non-reversed) pattern comes out reversed per 4-byte group.
    bench.flash.program(0, std::vector<uint8_t>{1, 2, 3, 4, 5, 6, 7, 8});
    std::vector<uint8_t> eight(8);
    transact(bench.initiator.socket, tlm::TLM_READ_COMMAND, 0, eight.data(), 8);
    EXPECT_EQ(eight, (std::vector<uint8_t>{4, 3, 2, 1, 8, 7, 6, 5}));

    // A tail group at the very end of the flash wraps to address 0 for its missing bytes.
    const uint64_t end = bench.flash.size();
    bench.flash.program(end - 2, std::vector<uint8_t>{0xA0, 0xA1});
    std::vector<uint8_t> two(2);
    transact(bench.initiator.socket, tlm::TLM_READ_COMMAND, end - 2, two.data(), 2);
    // wire bytes: A0 A1 01 02 -> stored 02 01 A1 A0; the first two are delivered.
    EXPECT_EQ(two, (std::vector<uint8_t>{0x02, 0x01}));
}

TEST(SpiFlash, EightBitFramesDeliverBytesInOrder) {
    const SpiFlashConfig cfg = kpu_load_config(481 * kMHz);
    FlashBench bench("bench", cfg);
    sc_core::sc_start(sc_core::SC_ZERO_TIME);
    const std::vector<uint8_t> model = pattern(200 * 1024, 7);
    bench.flash.program(kModelAddress, model);
    std::vector<uint8_t> buf(model.size());
    const Result r = transact(bench.initiator.socket, tlm::TLM_READ_COMMAND, kModelAddress,
                              buf.data(), static_cast<unsigned int>(buf.size()));
    ASSERT_EQ(r.status, tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(buf, model);
    EXPECT_EQ(bench.flash.commands_issued(), 4u);  // 3 × 64 KiB + 8 KiB
    EXPECT_EQ(r.delay, read_time(cfg, model.size()).time());
    // 4 × 20 + 2 × 204,800 SCK at 30.0625 MHz (the CPU's cost per command is the runner's).
    const double expected_ps = (4 * 20 + 2 * 204'800.0) * 16 / 481e6 * 1e12;
    EXPECT_NEAR(r.delay.to_seconds() * 1e12, expected_ps, 2.0);
}

// An SC_THREAD that reads like a run-mode process: b_transport, then wait(delay).
struct ReadingProcess : sc_core::sc_module {
    tlm_utils::simple_initiator_socket<ReadingProcess> socket;
    std::vector<uint8_t> buffer;
    sc_time annotated;
    sc_time finished_at;
    tlm::tlm_response_status status = tlm::TLM_INCOMPLETE_RESPONSE;
    SC_HAS_PROCESS(ReadingProcess);
    explicit ReadingProcess(sc_core::sc_module_name name)
        : sc_core::sc_module(name), socket("socket"), buffer(300'000) {
        SC_THREAD(run);
    }
    void run() {
        tlm::tlm_generic_payload tx;
        tx.set_command(tlm::TLM_READ_COMMAND);
        tx.set_address(kModelAddress);
        tx.set_data_ptr(buffer.data());
        tx.set_data_length(static_cast<unsigned int>(buffer.size()));
        tx.set_streaming_width(static_cast<unsigned int>(buffer.size()));
        sc_time delay = sc_core::SC_ZERO_TIME;
        socket->b_transport(tx, delay);
        status = tx.get_response_status();
        annotated = delay;
        wait(delay);
        finished_at = sc_core::sc_time_stamp();
    }
};

TEST(SpiFlash, ARunModeProcessAdvancesTimeByTheAnnotatedDelay) {
    struct Top : sc_core::sc_module {
        ReadingProcess reader;
        SpiFlash flash;
        explicit Top(sc_core::sc_module_name name)
            : sc_core::sc_module(name), reader("reader"),
              flash("flash", flash_runner_config(400 * kMHz, 60 * kMHz)) {
            reader.socket.bind(flash.socket);
        }
    } top("top");
    sc_core::sc_start();
    EXPECT_EQ(top.reader.status, tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(top.reader.annotated, read_time(top.flash.config(), 300'000).time());
    EXPECT_EQ(top.reader.finished_at, top.reader.annotated);
    EXPECT_EQ(top.flash.clock().divider, 6u);  // floor(400 / 60)
    EXPECT_EQ(top.flash.commands_issued(), 2u);
}

TEST(SpiFlash, RejectsWritesBadRangesAndUnsupportedPayloads) {
    const SpiFlashConfig cfg = flash_runner_config(400 * kMHz, 80 * kMHz);
    FlashBench bench("bench", cfg);
    sc_core::sc_start(sc_core::SC_ZERO_TIME);
    auto& s = bench.initiator.socket;
    std::vector<uint8_t> buf(16, 0x5A);
    const uint64_t end = bench.flash.size();

    Result r = transact(s, tlm::TLM_WRITE_COMMAND, kModelAddress, buf.data(), 16);
    EXPECT_EQ(r.status, tlm::TLM_COMMAND_ERROR_RESPONSE);
    EXPECT_EQ(r.delay, sc_core::SC_ZERO_TIME);
    EXPECT_EQ(bench.flash.data()[kModelAddress], 0xFF);  // nothing written

    EXPECT_EQ(transact(s, tlm::TLM_READ_COMMAND, end, buf.data(), 4).status,
              tlm::TLM_ADDRESS_ERROR_RESPONSE);
    EXPECT_EQ(transact(s, tlm::TLM_READ_COMMAND, end - 4, buf.data(), 8).status,
              tlm::TLM_ADDRESS_ERROR_RESPONSE);
    unsigned char be[16] = {};
    EXPECT_EQ(transact(s, tlm::TLM_READ_COMMAND, 0, buf.data(), 16, sc_core::SC_ZERO_TIME, be).status,
              tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE);
    EXPECT_EQ(transact(s, tlm::TLM_READ_COMMAND, 0, buf.data(), 16, sc_core::SC_ZERO_TIME, nullptr, 4).status,
              tlm::TLM_BURST_ERROR_RESPONSE);
    EXPECT_EQ(transact(s, tlm::TLM_READ_COMMAND, 0, nullptr, 16).status,
              tlm::TLM_GENERIC_ERROR_RESPONSE);
    r = transact(s, tlm::TLM_IGNORE_COMMAND, 0, buf.data(), 16);
    EXPECT_EQ(r.status, tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(r.delay, sc_core::SC_ZERO_TIME);
    EXPECT_EQ(bench.flash.transactions(), 0u);
    EXPECT_EQ(bench.flash.commands_issued(), 0u);

    // A zero-length read is fine and free.
    r = transact(s, tlm::TLM_READ_COMMAND, 0, buf.data(), 0);
    EXPECT_EQ(r.status, tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(r.delay, sc_core::SC_ZERO_TIME);
    EXPECT_EQ(bench.flash.commands_issued(), 0u);

    // Last 4 bytes are readable.
    EXPECT_EQ(transact(s, tlm::TLM_READ_COMMAND, end - 4, buf.data(), 4).status,
              tlm::TLM_OK_RESPONSE);

    // Debug transport: untimed, uncounted, clipped at the end, writes program the flash.
    bench.flash.reset_counters();
    std::vector<uint8_t> w = {9, 8, 7, 6};
    EXPECT_EQ(debug(s, tlm::TLM_WRITE_COMMAND, 0x1000, w.data(), 4), 4u);
    std::vector<uint8_t> rd(4);
    EXPECT_EQ(debug(s, tlm::TLM_READ_COMMAND, 0x1000, rd.data(), 4), 4u);
    EXPECT_EQ(rd, w);
    EXPECT_EQ(debug(s, tlm::TLM_READ_COMMAND, end - 2, rd.data(), 4), 2u);
    EXPECT_EQ(debug(s, tlm::TLM_READ_COMMAND, end, rd.data(), 4), 0u);
    EXPECT_EQ(debug(s, tlm::TLM_IGNORE_COMMAND, 0, rd.data(), 4), 0u);
    EXPECT_EQ(bench.flash.transactions(), 0u);
    EXPECT_EQ(bench.flash.busy_ps(), 0u);
}

TEST(SpiFlash, ProgramPastSixteenMiBNamesTheSizes) {
    FlashBench bench("bench", SpiFlashConfig{});
    sc_core::sc_start(sc_core::SC_ZERO_TIME);
    const std::vector<uint8_t> image(11, 1);
    expect_input_error([&] { bench.flash.program(kFlashSizeBytes - 10, image); },
                       {"11 bytes", "16777206", "16777216"});
    expect_input_error([&] { bench.flash.program(kFlashSizeBytes + 1, image.data(), 0); },
                       {"16777217"});
    EXPECT_NO_THROW(bench.flash.program(kFlashSizeBytes - 11, image));
    EXPECT_NO_THROW(bench.flash.program(kFlashSizeBytes, image.data(), 0));
    EXPECT_EQ(bench.flash.data()[kFlashSizeBytes - 1], 1);
}

TEST(SpiFlash, ReconfiguresBetweenRunsAndKeepsTheOldSettingOnError) {
    FlashBench bench("bench", flash_runner_config(481 * kMHz, 80 * kMHz));
    sc_core::sc_start(sc_core::SC_ZERO_TIME);
    // kpu_recover_flash: back to 25 MHz requested -> floor(481/25) = 19 -> 25,315,789 Hz.
    bench.flash.set_requested_sck_hz(25 * kMHz);
    EXPECT_EQ(bench.flash.clock().divider, 19u);
    EXPECT_EQ(bench.flash.clock().actual_hz, 25'315'789u);
    EXPECT_EQ(bench.flash.config().requested_sck_hz, 25 * kMHz);
    EXPECT_THROW(bench.flash.set_requested_sck_hz(100 * kMHz), InputError);  // 120 MHz SCK
    EXPECT_EQ(bench.flash.clock().divider, 19u);
    SpiFlashConfig bad = bench.flash.config();
    bad.lanes = 5;
    EXPECT_THROW(bench.flash.reconfigure(bad), InputError);
    EXPECT_EQ(bench.flash.config().lanes, 4u);
    SpiFlashConfig octal = bench.flash.config();
    octal.lanes = 8;
    octal.ddr = true;
    bench.flash.reconfigure(octal);
    EXPECT_EQ(bench.flash.command().opcode, 0xFD);
}

TEST(SpiFlash, ConstructionRejectsAnInvalidConfiguration) {
    SpiFlashConfig bad = flash_runner_config(481 * kMHz, 300 * kMHz);
    expect_input_error([&] { SpiFlash flash("flash", bad); }, {"300000000", "240500000"});
}

}  // namespace
