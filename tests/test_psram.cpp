// Tests of the PSRAM model source (psram/psram.h), a projection: no public K210 code drives
// a PSRAM. Each TEST that builds modules runs in its own process (see test_flash_spi.cpp).
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>

#include "tests/tlm_test_initiator.h"
#include "flash_spi/spi_clock.h"
#include "flash_spi/spi_flash.h"
#include "models/kmodel_error.h"
#include "psram/psram.h"

namespace {

using namespace kpusim::test;

using namespace kpusim::psram;
using kpusim::InputError;
using sc_core::sc_time;

constexpr uint64_t kMHz = 1'000'000;

struct PsramBench : sc_core::sc_module {
    Initiator initiator;
    Psram psram;
    PsramBench(sc_core::sc_module_name name, const PsramConfig& config)
        : sc_core::sc_module(name), initiator("initiator"), psram("psram", config) {
        initiator.socket.bind(psram.socket);
    }
};


std::vector<uint8_t> pattern(size_t n, uint32_t seed = 99) {
    std::vector<uint8_t> v(n);
    uint32_t x = seed;
    for (auto& b : v) {
        x = x * 1664525u + 1013904223u;
        b = static_cast<uint8_t>(x >> 24);
    }
    return v;
}

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
// Presets and the formula (no modules)

TEST(PsramConfig, PresetsMatchTheDatasheetClasses) {
    const PsramConfig q = qspi_psram_preset();
    EXPECT_EQ(q.lanes, 4u);
    EXPECT_FALSE(q.ddr);
    EXPECT_EQ(q.clock_hz, 133 * kMHz);
    EXPECT_EQ(q.opcode, 0xEB);
    EXPECT_EQ(q.command_cycles + q.address_cycles + q.latency_cycles, 2u + 6u + 6u);
    EXPECT_EQ(q.page_bytes, 1024u);
    EXPECT_EQ(q.size_bytes, 8u * 1024 * 1024);
    EXPECT_EQ(q.max_ce_low_ps, 0u);
    EXPECT_EQ(q.software_cycles_per_burst, kSoftwareCyclesPerBurst);
    EXPECT_NO_THROW(validate(q));

    const PsramConfig o = ospi_psram_preset();
    EXPECT_EQ(o.lanes, 8u);
    EXPECT_TRUE(o.ddr);
    EXPECT_EQ(o.clock_hz, 133 * kMHz);
    EXPECT_EQ(o.opcode, 0x20);
    EXPECT_EQ(o.command_cycles, 1u);
    EXPECT_EQ(o.address_cycles, 2u);
    EXPECT_EQ(o.latency_cycles, 10u);  // fixed latency 2·LC, LC = 5
    EXPECT_EQ(o.page_bytes, 1024u);
    EXPECT_NO_THROW(validate(o));

    // Configurable read latency and clock (e.g. SPI0's 25 MHz limit on a K210).
    const PsramConfig slow = ospi_psram_preset(400 * kMHz, kpusim::flash_spi::kSpi0MaxSckHz,
                                               aps6408_read_latency_cycles(3, false));
    EXPECT_EQ(slow.clock_hz, 25 * kMHz);
    EXPECT_EQ(slow.latency_cycles, 3u);
}

TEST(PsramConfig, Aps6408LatencyCodes) {
    EXPECT_EQ(aps6408_read_latency_cycles(5, false), 5u);
    EXPECT_EQ(aps6408_read_latency_cycles(5, true), 10u);
    EXPECT_EQ(aps6408_read_latency_cycles(7, true), 14u);
    EXPECT_EQ(aps6408_read_latency_cycles(3, false), 3u);
    expect_input_error([] { aps6408_read_latency_cycles(2, false); }, {"LC 2"});
    EXPECT_THROW(aps6408_read_latency_cycles(8, true), InputError);
}

TEST(PsramConfig, ValidateRejectsBadFields) {
    PsramConfig c = qspi_psram_preset();
    c.lanes = 3;
    expect_input_error([&] { validate(c); }, {"3 data lanes"});
    c = qspi_psram_preset();
    c.clock_hz = 0;
    expect_input_error([&] { validate(c); }, {"clock_hz"});
    c = qspi_psram_preset();
    c.cpu_hz = 0;
    EXPECT_THROW(validate(c), InputError);
    c = qspi_psram_preset();
    c.page_bytes = 0;
    EXPECT_THROW(validate(c), InputError);
    c = qspi_psram_preset();
    c.size_bytes = 0;
    EXPECT_THROW(validate(c), InputError);
    c = qspi_psram_preset();
    c.max_ce_low_ps = 100'000;  // 100 ns = 13 clocks at 133 MHz < 14 overhead clocks
    expect_input_error([&] { validate(c); }, {"tCEM", "14-clock"});
    EXPECT_THROW(read_time(c, 0, 16), InputError);
}

TEST(PsramReadTime, DataCyclesPerLaneSetting) {
    EXPECT_EQ(data_cycles(qspi_psram_preset(), 1024), 2048u);
    EXPECT_EQ(data_cycles(ospi_psram_preset(), 1024), 512u);
    EXPECT_EQ(data_cycles(ospi_psram_preset(), 3), 2u);
    EXPECT_EQ(data_cycles(qspi_psram_preset(), 1), 2u);
}

TEST(PsramReadTime, BurstsNeverCrossAPage) {
    PsramConfig q = qspi_psram_preset();
    q.software_cycles_per_burst = 1200;  // a standalone user charging the CPU's cost here
    // [1000, 4000): 24 + 1024 + 1024 + 928 bytes.
    const PsramReadTiming t = read_time(q, 1000, 3000);
    EXPECT_EQ(t.bursts, 4u);
    EXPECT_EQ(t.overhead_cycles, 4u * 14);
    EXPECT_EQ(t.data_cycles, 6000u);
    EXPECT_EQ(t.clock_cycles, 6056u);
    EXPECT_EQ(t.cpu_cycles, 4u * 1200);
    EXPECT_EQ(t.clock_ps, 45'533'835u);  // 6056 / 133 MHz = 45,533,834.6 ps
    EXPECT_EQ(t.cpu_ps, 12'000'000u);    // 4,800 cycles at 400 MHz
    EXPECT_EQ(t.total_ps, t.clock_ps + t.cpu_ps);

    // Page-aligned: one burst per page; one byte across a boundary adds a burst.
    EXPECT_EQ(read_time(q, 0, 48 * 1024).bursts, 48u);
    EXPECT_EQ(read_time(q, 0, 1024).bursts, 1u);
    EXPECT_EQ(read_time(q, 1023, 2).bursts, 2u);
    EXPECT_EQ(read_time(q, 5, 0).bursts, 0u);
    EXPECT_EQ(read_time(q, 5, 0).total_ps, 0u);
}

TEST(PsramReadTime, TcemShortensBursts) {
    PsramConfig q = qspi_psram_preset();
    q.max_ce_low_ps = 8'000'000;  // 8 µs: 1064 clocks at 133 MHz, 1050 for data = 525 bytes
    EXPECT_EQ(max_burst_bytes_for_tcem(q), 525u);
    EXPECT_EQ(max_burst_bytes_for_tcem(qspi_psram_preset()), 0u);  // not applied
    const PsramReadTiming t = read_time(q, 0, 1024);
    EXPECT_EQ(t.bursts, 2u);
    EXPECT_EQ(t.data_cycles, 2048u);
    EXPECT_GT(t.total_ps, read_time(qspi_psram_preset(), 0, 1024).total_ps);
}

TEST(PsramReadTime, OctalDdrBeatsQuadFlashAt80MHzOn48KiB) {
    constexpr uint64_t kBytes = 48 * 1024;
    const auto flash = kpusim::flash_spi::read_time(
        kpusim::flash_spi::flash_runner_config(481 * kMHz, 80 * kMHz), kBytes);
    const PsramReadTiming ospi = read_time(ospi_psram_preset(481 * kMHz), 0, kBytes);
    const PsramReadTiming qspi = read_time(qspi_psram_preset(481 * kMHz), 0, kBytes);
    EXPECT_EQ(ospi.bursts, 48u);
    EXPECT_LT(ospi.total_ps, flash.total_ps);
    EXPECT_LT(ospi.total_ps, qspi.total_ps);
    // ≈ 48 × 525 clocks / 133 MHz ≈ 0.19 ms versus ≈ 1.23 ms of flash (wire time only: the
    // CPU's cost per command is the runner's).
    EXPECT_NEAR(ospi.total_ps * 1e-9, 0.189, 0.005);
    EXPECT_NEAR(flash.total_ps * 1e-9, 1.229, 0.005);
}

// ---------------------------------------------------------------------------------------
// The module

TEST(Psram, BTransportSplitsAtPagesAndChargesTheFormula) {
    const PsramConfig cfg = ospi_psram_preset();
    PsramBench bench("bench", cfg);
    sc_core::sc_start(sc_core::SC_ZERO_TIME);
    EXPECT_EQ(bench.psram.size(), 8u * 1024 * 1024);
    const std::vector<uint8_t> data = pattern(3000);
    bench.psram.program(1000, data);

    std::vector<uint8_t> buf(3000);
    const Result r = transact(bench.initiator.socket, tlm::TLM_READ_COMMAND, 1000, buf.data(), 3000);
    ASSERT_EQ(r.status, tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(buf, data);  // in order
    EXPECT_EQ(r.delay, read_time(cfg, 1000, 3000).time());
    EXPECT_EQ(r.delay, bench.psram.read_time(1000, 3000).time());
    // 4 bursts × 13 clocks + 1500 data clocks at 133 MHz (the CPU's cost is the runner's).
    EXPECT_NEAR(r.delay.to_seconds() * 1e12, (4 * 13 + 1500) / 133e6 * 1e12, 1.0);
    EXPECT_EQ(bench.psram.bursts_issued(), 4u);
    EXPECT_EQ(bench.psram.bytes_read(), 3000u);
    EXPECT_EQ(bench.psram.transactions(), 1u);
    EXPECT_EQ(bench.psram.busy_ps(), read_time(cfg, 1000, 3000).total_ps);
}

TEST(Psram, OctalPsramModuleReadsFasterThanTheFlashModule) {
    struct Top : sc_core::sc_module {
        Initiator a, b;
        Psram psram;
        kpusim::flash_spi::SpiFlash flash;
        explicit Top(sc_core::sc_module_name name)
            : sc_core::sc_module(name), a("a"), b("b"), psram("psram", ospi_psram_preset(481 * kMHz)),
              flash("flash", kpusim::flash_spi::flash_runner_config(481 * kMHz, 80 * kMHz)) {
            a.socket.bind(psram.socket);
            b.socket.bind(flash.socket);
        }
    } top("top");
    sc_core::sc_start(sc_core::SC_ZERO_TIME);
    std::vector<uint8_t> buf(48 * 1024);
    const Result p = transact(top.a.socket, tlm::TLM_READ_COMMAND, 0, buf.data(), 48 * 1024);
    const Result f = transact(top.b.socket, tlm::TLM_READ_COMMAND, 0x300000, buf.data(), 48 * 1024);
    ASSERT_EQ(p.status, tlm::TLM_OK_RESPONSE);
    ASSERT_EQ(f.status, tlm::TLM_OK_RESPONSE);
    EXPECT_LT(p.delay, f.delay);
}

TEST(Psram, RejectsWritesBadRangesAndOversizedImages) {
    PsramBench bench("bench", qspi_psram_preset());
    sc_core::sc_start(sc_core::SC_ZERO_TIME);
    auto& s = bench.initiator.socket;
    std::vector<uint8_t> buf(16, 3);
    const uint64_t end = bench.psram.size();
    Result r = transact(s, tlm::TLM_WRITE_COMMAND, 0, buf.data(), 16);
    EXPECT_EQ(r.status, tlm::TLM_COMMAND_ERROR_RESPONSE);
    EXPECT_EQ(r.delay, sc_core::SC_ZERO_TIME);
    EXPECT_EQ(bench.psram.data()[0], 0);
    EXPECT_EQ(transact(s, tlm::TLM_READ_COMMAND, end - 8, buf.data(), 16).status,
              tlm::TLM_ADDRESS_ERROR_RESPONSE);
    unsigned char be[16] = {};
    EXPECT_EQ(transact(s, tlm::TLM_READ_COMMAND, 0, buf.data(), 16, sc_core::SC_ZERO_TIME, be).status,
              tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE);
    EXPECT_EQ(transact(s, tlm::TLM_READ_COMMAND, 0, buf.data(), 16, sc_core::SC_ZERO_TIME, nullptr, 8).status,
              tlm::TLM_BURST_ERROR_RESPONSE);
    EXPECT_EQ(transact(s, tlm::TLM_READ_COMMAND, 0, nullptr, 16).status,
              tlm::TLM_GENERIC_ERROR_RESPONSE);
    EXPECT_EQ(bench.psram.transactions(), 0u);

    const std::vector<uint8_t> image(100, 1);
    expect_input_error([&] { bench.psram.program(end - 50, image); },
                       {"100 bytes", std::to_string(end - 50), std::to_string(end)});

    PsramConfig bigger = qspi_psram_preset();
    bigger.size_bytes *= 2;
    expect_input_error([&] { bench.psram.reconfigure(bigger); }, {"size"});
    PsramConfig faster = qspi_psram_preset();
    faster.clock_hz = 104 * kMHz;
    bench.psram.reconfigure(faster);
    EXPECT_EQ(bench.psram.config().clock_hz, 104 * kMHz);
}

TEST(Psram, ConstructionRejectsAnInvalidConfiguration) {
    PsramConfig bad = qspi_psram_preset();
    bad.lanes = 6;
    expect_input_error([&] { Psram p("psram", bad); }, {"6 data lanes"});
}

}  // namespace
