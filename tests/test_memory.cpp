// Tests of the memory modules (memory/memory_target.h, general_sram.h, kpu_ram.h) and of the
// general-RAM budget (memory/ram_budget.h).
//
// A SystemC kernel elaborates once per process: every TEST below that builds modules builds
// its own bench and calls sc_start itself, and relies on running in its own process
// (gtest_discover_tests does that; by hand, run one --gtest_filter per process).
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_initiator_socket.h>

#include "tests/tlm_test_initiator.h"
#include "memory/general_sram.h"
#include "memory/kpu_ram.h"
#include "memory/memory_target.h"
#include "memory/memory_timing.h"
#include "memory/ram_budget.h"
#include "models/kmodel_error.h"

namespace {

using namespace kpusim::memory;
using namespace kpusim::test;
using sc_core::SC_NS;
using sc_core::SC_PS;
using sc_core::sc_time;

// One memory bound to one initiator.
template <class Mem>
struct Bench : sc_core::sc_module {
    Initiator initiator;
    Mem mem;
    template <class... Args>
    explicit Bench(sc_core::sc_module_name name, Args&&... args)
        : sc_core::sc_module(name), initiator("initiator"), mem("mem", std::forward<Args>(args)...) {
        initiator.socket.bind(mem.socket);
    }
};

// A small memory with easy numbers: 100 MHz (10 ns per cycle), 3 access cycles, 4 bytes
// per cycle.
constexpr uint64_t kSmallSize = 4096;
constexpr MemoryTiming kSmallTiming{100'000'000, 3, 4};

// ---------------------------------------------------------------------------------------
// MemoryTarget

TEST(MemoryTarget, ConstructsZeroFilledWithItsParameters) {
    Bench<MemoryTarget> bench("bench", kSmallSize, 100'000'000, 3, 4, 0x1234'0000);
    sc_core::sc_start(sc_core::SC_ZERO_TIME);
    EXPECT_EQ(bench.mem.size(), kSmallSize);
    EXPECT_EQ(bench.mem.base_address(), 0x1234'0000u);
    EXPECT_EQ(bench.mem.timing().clock_hz, 100'000'000u);
    EXPECT_EQ(bench.mem.timing().access_cycles, 3u);
    EXPECT_EQ(bench.mem.timing().bytes_per_cycle, 4u);
    const std::vector<uint8_t> zeros(kSmallSize, 0);
    EXPECT_EQ(std::memcmp(bench.mem.data(), zeros.data(), kSmallSize), 0);
    EXPECT_EQ(bench.mem.bytes_read(), 0u);
    EXPECT_EQ(bench.mem.bytes_written(), 0u);
}

TEST(MemoryTarget, LatencyFormulaInCycles) {
    Bench<MemoryTarget> bench("bench", kSmallSize, kSmallTiming);
    sc_core::sc_start(sc_core::SC_ZERO_TIME);
    const MemoryTarget& m = bench.mem;
    EXPECT_EQ(m.access_cycles(0), 3u);   // fixed part only
    EXPECT_EQ(m.access_cycles(1), 4u);   // 3 + ceil(1/4)
    EXPECT_EQ(m.access_cycles(4), 4u);   // 3 + 1
    EXPECT_EQ(m.access_cycles(5), 5u);   // 3 + 2
    EXPECT_EQ(m.access_cycles(13), 7u);  // 3 + 4
    EXPECT_EQ(m.access_cycles(std::numeric_limits<uint64_t>::max()),
              3u + (std::numeric_limits<uint64_t>::max() / 4 + 1));  // no overflow in the ceil
    EXPECT_EQ(m.cycles_to_time(1), sc_time(10, SC_NS));
    EXPECT_EQ(m.cycles_to_time(7), sc_time(70, SC_NS));
    EXPECT_EQ(m.access_time(13), sc_time(70, SC_NS));
}

TEST(MemoryTarget, CyclesToTimeWithAClockThatDoesNotDividePicoseconds) {
    // 67.166666 MHz (timing.md A.1): one cycle is 14888.337... ps.
    Bench<MemoryTarget> bench("bench", kSmallSize, 67'166'666, 0, 1);
    sc_core::sc_start(sc_core::SC_ZERO_TIME);
    const long double exact_ps = 1'000'000.0L * 1e12L / 67'166'666.0L;  // 1e6 cycles
    const double got_ps = bench.mem.cycles_to_time(1'000'000).to_seconds() * 1e12;
    EXPECT_NEAR(got_ps, static_cast<double>(exact_ps), 1.0);  // rounded once, not per cycle
}

TEST(MemoryTarget, BTransportRoundTripAndAnnotatedDelay) {
    Bench<MemoryTarget> bench("bench", kSmallSize, kSmallTiming);
    sc_core::sc_start(sc_core::SC_ZERO_TIME);
    auto& socket = bench.initiator.socket;

    std::vector<uint8_t> out(13);
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint8_t>(0xA0 + i);
    // Delay is added to what the initiator already annotated (5 ns here).
    const Result w = transact(socket, tlm::TLM_WRITE_COMMAND, 100, out.data(), 13, sc_time(5, SC_NS));
    EXPECT_EQ(w.status, tlm::TLM_OK_RESPONSE);
    // 3 + ceil(13 / 4) = 7 cycles at 100 MHz = 70 ns, on top of 5 ns.
    EXPECT_EQ(w.delay, sc_time(75, SC_NS));
    EXPECT_EQ(w.delay, sc_time(5, SC_NS) + bench.mem.access_time(13));
    EXPECT_TRUE(w.dmi_hint);
    EXPECT_EQ(std::memcmp(bench.mem.data() + 100, out.data(), 13), 0);
    EXPECT_EQ(bench.mem.data()[99], 0);
    EXPECT_EQ(bench.mem.data()[113], 0);

    std::vector<uint8_t> in(13, 0);
    // Issued when the write has ended (its annotated delay): no queueing, 70 ns more.
    const Result r = transact(socket, tlm::TLM_READ_COMMAND, 100, in.data(), 13, w.delay);
    EXPECT_EQ(r.status, tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(r.delay, w.delay + sc_time(70, SC_NS));
    EXPECT_EQ(in, out);

    // The last byte of the array is in range.
    uint8_t last = 0x5A;
    EXPECT_EQ(transact(socket, tlm::TLM_WRITE_COMMAND, kSmallSize - 1, &last, 1).status,
              tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(bench.mem.data()[kSmallSize - 1], 0x5A);

    EXPECT_EQ(bench.mem.bytes_written(), 14u);
    EXPECT_EQ(bench.mem.bytes_read(), 13u);
    EXPECT_EQ(bench.mem.transactions(), 3u);
    bench.mem.reset_counters();
    EXPECT_EQ(bench.mem.bytes_written(), 0u);
    EXPECT_EQ(bench.mem.bytes_read(), 0u);
    EXPECT_EQ(bench.mem.transactions(), 0u);
}

// A loosely-timed initiator thread: it accumulates the annotated delay and syncs with
// wait(); simulated time then equals the sum of the memory's latencies.
struct LtInitiator : sc_core::sc_module {
    tlm_utils::simple_initiator_socket<LtInitiator> socket;
    MemoryTarget mem;
    bool done = false;
    SC_HAS_PROCESS(LtInitiator);
    explicit LtInitiator(sc_core::sc_module_name name)
        : sc_core::sc_module(name), socket("socket"), mem("mem", kSmallSize, kSmallTiming) {
        socket.bind(mem.socket);
        SC_THREAD(run);
    }
    void run() {
        sc_time delay = sc_core::SC_ZERO_TIME;
        uint8_t buf[64] = {};
        tlm::tlm_generic_payload tx;
        for (unsigned int len : {64u, 8u, 1u}) {
            tx.set_command(tlm::TLM_WRITE_COMMAND);
            tx.set_address(0);
            tx.set_data_ptr(buf);
            tx.set_data_length(len);
            tx.set_streaming_width(len);
            tx.set_byte_enable_ptr(nullptr);
            tx.set_response_status(tlm::TLM_INCOMPLETE_RESPONSE);
            socket->b_transport(tx, delay);
            if (!tx.is_response_ok()) return;
        }
        wait(delay);
        done = true;
    }
};

TEST(MemoryTarget, LooselyTimedInitiatorAdvancesTimeByTheLatencies) {
    LtInitiator top("top");
    sc_core::sc_start();
    ASSERT_TRUE(top.done);
    // (3 + 16) + (3 + 2) + (3 + 1) = 28 cycles at 100 MHz.
    EXPECT_EQ(sc_core::sc_time_stamp(), sc_time(280, SC_NS));
}

TEST(MemoryTarget, OutOfRangeIsAnAddressErrorAndTouchesNothing) {
    Bench<MemoryTarget> bench("bench", kSmallSize, kSmallTiming);
    sc_core::sc_start(sc_core::SC_ZERO_TIME);
    auto& socket = bench.initiator.socket;
    uint8_t buf[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    const sc_time start(1, SC_NS);

    struct Case { uint64_t address; unsigned int length; };
    const Case cases[] = {
        {kSmallSize, 1},                              // first byte past the end
        {kSmallSize - 2, 4},                          // straddles the end
        {kSmallSize - 1, 8},
        {std::numeric_limits<uint64_t>::max() - 2, 8},  // address + length wraps around
        {std::numeric_limits<uint64_t>::max(), 1},
    };
    for (const Case& c : cases) {
        for (tlm::tlm_command cmd : {tlm::TLM_WRITE_COMMAND, tlm::TLM_READ_COMMAND}) {
            const Result r = transact(socket, cmd, c.address, buf, c.length, start);
            EXPECT_EQ(r.status, tlm::TLM_ADDRESS_ERROR_RESPONSE) << "address " << c.address;
            EXPECT_EQ(r.delay, start);
        }
    }
    const std::vector<uint8_t> zeros(kSmallSize, 0);
    EXPECT_EQ(std::memcmp(bench.mem.data(), zeros.data(), kSmallSize), 0);
    EXPECT_EQ(buf[0], 1);  // reads copied nothing
    EXPECT_EQ(bench.mem.bytes_read(), 0u);
    EXPECT_EQ(bench.mem.bytes_written(), 0u);
    EXPECT_EQ(bench.mem.transactions(), 0u);
}

TEST(MemoryTarget, ByteEnablesAreRejected) {
    Bench<MemoryTarget> bench("bench", kSmallSize, kSmallTiming);
    sc_core::sc_start(sc_core::SC_ZERO_TIME);
    auto& socket = bench.initiator.socket;
    uint8_t buf[4] = {9, 9, 9, 9};
    unsigned char enables[4] = {0xFF, 0x00, 0xFF, 0x00};
    const sc_time start(2, SC_NS);
    for (tlm::tlm_command cmd : {tlm::TLM_WRITE_COMMAND, tlm::TLM_READ_COMMAND}) {
        const Result r = transact(socket, cmd, 0, buf, 4, start, enables);
        EXPECT_EQ(r.status, tlm::TLM_BYTE_ENABLE_ERROR_RESPONSE);
        EXPECT_EQ(r.delay, start);
    }
    EXPECT_EQ(bench.mem.data()[0], 0);
    EXPECT_EQ(bench.mem.bytes_written(), 0u);
}

TEST(MemoryTarget, StreamingNarrowerThanTheDataIsABurstError) {
    Bench<MemoryTarget> bench("bench", kSmallSize, kSmallTiming);
    sc_core::sc_start(sc_core::SC_ZERO_TIME);
    uint8_t buf[8] = {};
    const Result r = transact(bench.initiator.socket, tlm::TLM_WRITE_COMMAND, 0, buf, 8,
                              sc_core::SC_ZERO_TIME, nullptr, 4);
    EXPECT_EQ(r.status, tlm::TLM_BURST_ERROR_RESPONSE);
    EXPECT_EQ(r.delay, sc_core::SC_ZERO_TIME);
}

TEST(MemoryTarget, IgnoreCommandIsOkAndFree) {
    Bench<MemoryTarget> bench("bench", kSmallSize, kSmallTiming);
    sc_core::sc_start(sc_core::SC_ZERO_TIME);
    uint8_t buf[4] = {7, 7, 7, 7};
    const Result r = transact(bench.initiator.socket, tlm::TLM_IGNORE_COMMAND, 0, buf, 4);
    EXPECT_EQ(r.status, tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(r.delay, sc_core::SC_ZERO_TIME);
    EXPECT_EQ(bench.mem.data()[0], 0);
    EXPECT_EQ(bench.mem.transactions(), 0u);
}

TEST(MemoryTarget, TransportDbgCopiesWithoutTimeOrCounters) {
    Bench<MemoryTarget> bench("bench", kSmallSize, kSmallTiming);
    sc_core::sc_start(sc_core::SC_ZERO_TIME);
    auto& socket = bench.initiator.socket;

    std::vector<uint8_t> image(256);
    for (size_t i = 0; i < image.size(); ++i) image[i] = static_cast<uint8_t>(i);
    EXPECT_EQ(debug(socket, tlm::TLM_WRITE_COMMAND, 1000, image.data(), 256), 256u);
    EXPECT_EQ(std::memcmp(bench.mem.data() + 1000, image.data(), 256), 0);

    std::vector<uint8_t> back(256, 0);
    EXPECT_EQ(debug(socket, tlm::TLM_READ_COMMAND, 1000, back.data(), 256), 256u);
    EXPECT_EQ(back, image);

    // Clipped at the end of the array; nothing beyond it.
    std::vector<uint8_t> tail(16, 0xEE);
    EXPECT_EQ(debug(socket, tlm::TLM_WRITE_COMMAND, kSmallSize - 4, tail.data(), 16), 4u);
    EXPECT_EQ(bench.mem.data()[kSmallSize - 1], 0xEE);
    EXPECT_EQ(debug(socket, tlm::TLM_READ_COMMAND, kSmallSize, back.data(), 16), 0u);
    EXPECT_EQ(debug(socket, tlm::TLM_READ_COMMAND, std::numeric_limits<uint64_t>::max(),
                    back.data(), 16), 0u);
    EXPECT_EQ(debug(socket, tlm::TLM_IGNORE_COMMAND, 0, back.data(), 16), 0u);

    EXPECT_EQ(bench.mem.bytes_read(), 0u);
    EXPECT_EQ(bench.mem.bytes_written(), 0u);
    EXPECT_EQ(bench.mem.transactions(), 0u);
    EXPECT_EQ(sc_core::sc_time_stamp(), sc_core::SC_ZERO_TIME);
}

TEST(MemoryTarget, DmiCoversTheWholeArrayWithTheTransportLatency) {
    Bench<MemoryTarget> bench("bench", kSmallSize, kSmallTiming);
    sc_core::sc_start(sc_core::SC_ZERO_TIME);
    auto& socket = bench.initiator.socket;

    tlm::tlm_generic_payload tx;
    tx.set_address(1234);
    tx.set_command(tlm::TLM_READ_COMMAND);
    tlm::tlm_dmi dmi;
    ASSERT_TRUE(socket->get_direct_mem_ptr(tx, dmi));
    EXPECT_EQ(dmi.get_dmi_ptr(), bench.mem.data());
    EXPECT_EQ(dmi.get_start_address(), 0u);
    EXPECT_EQ(dmi.get_end_address(), kSmallSize - 1);
    EXPECT_TRUE(dmi.is_read_write_allowed());
    // One full-width beat: 3 + 1 cycles = 40 ns, the same as a 4-byte b_transport.
    EXPECT_EQ(dmi.get_read_latency(), sc_time(40, SC_NS));
    EXPECT_EQ(dmi.get_write_latency(), sc_time(40, SC_NS));
    EXPECT_EQ(dmi.get_read_latency(), bench.mem.dmi_latency());
    uint8_t word[4] = {};
    EXPECT_EQ(transact(socket, tlm::TLM_READ_COMMAND, 0, word, 4).delay, dmi.get_read_latency());

    // Writes through the DMI pointer are seen by b_transport and vice versa.
    dmi.get_dmi_ptr()[42] = 0x77;
    uint8_t b = 0;
    EXPECT_EQ(transact(socket, tlm::TLM_READ_COMMAND, 42, &b, 1).status, tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(b, 0x77);

    // Beyond the array: denied, with the denied range starting at the end of the array.
    tlm::tlm_dmi denied;
    tx.set_address(kSmallSize);
    EXPECT_FALSE(socket->get_direct_mem_ptr(tx, denied));
    EXPECT_TRUE(denied.is_none_allowed());
    EXPECT_EQ(denied.get_start_address(), kSmallSize);
    EXPECT_EQ(denied.get_end_address(), std::numeric_limits<sc_dt::uint64>::max());
}

TEST(MemoryTarget, InvalidConstructionThrows) {
    auto expect_invalid = [](auto make, const std::string& fragment) {
        try {
            make();
            ADD_FAILURE() << "no exception; expected one mentioning '" << fragment << "'";
        } catch (const std::invalid_argument& e) {
            EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
        }
    };
    expect_invalid([] { MemoryTarget m("zero_size", 0, 100'000'000, 1, 4); }, "size must be > 0");
    expect_invalid([] { MemoryTarget m("zero_clock", 16, 0, 1, 4); }, "clock must be > 0 Hz");
    expect_invalid([] { MemoryTarget m("zero_width", 16, 100'000'000, 1, 0); },
                   "bytes per cycle must be > 0");
    expect_invalid([] { GeneralSram m("bad_sram", MemoryTiming{0, 1, 8}); }, "clock");
    // The failed constructions leave the kernel usable.
    Bench<MemoryTarget> bench("bench", kSmallSize, kSmallTiming);
    sc_core::sc_start(sc_core::SC_ZERO_TIME);
    EXPECT_EQ(bench.mem.size(), kSmallSize);
}

// ---------------------------------------------------------------------------------------
// The two K210 memories

TEST(K210Memories, AddressMapAndSizes) {
    // Spec §1.
    EXPECT_EQ(kGeneralSramSize, 6291456u);
    EXPECT_EQ(kGeneralSramBase, 0x80000000u);
    EXPECT_EQ(kGeneralSramUncachedBase, 0x40000000u);
    EXPECT_EQ(kKpuRamSize, 2097152u);
    EXPECT_EQ(kKpuRamRows * kKpuRamRowBytes, kKpuRamSize);
    EXPECT_EQ(kKpuRamBase, 0x80600000u);
    EXPECT_EQ(kKpuRamUncachedBase, 0x40600000u);
    EXPECT_EQ(kGeneralSramBase + kGeneralSramSize, kKpuRamBase);  // adjacent, not overlapping

    EXPECT_EQ(general_sram_offset(0x80000000), 0u);
    EXPECT_EQ(general_sram_offset(0x805FFFFF), kGeneralSramSize - 1);
    EXPECT_EQ(general_sram_offset(0x40001000), 0x1000u);
    EXPECT_FALSE(general_sram_offset(0x80600000).has_value());
    EXPECT_FALSE(general_sram_offset(0x3FFFFFFF).has_value());
    EXPECT_EQ(kpu_ram_offset(0x80600000), 0u);
    EXPECT_EQ(kpu_ram_offset(0x40600000 + 32767 * 64), 32767u * 64);
    EXPECT_FALSE(kpu_ram_offset(0x80800000).has_value());
    EXPECT_FALSE(kpu_ram_offset(0x805FFFFF).has_value());
}

struct K210Bench : sc_core::sc_module {
    Initiator cpu;
    Initiator kpu;
    GeneralSram sram;
    KpuRam kpu_ram;
    explicit K210Bench(sc_core::sc_module_name name)
        : sc_core::sc_module(name), cpu("cpu"), kpu("kpu"), sram("sram"), kpu_ram("kpu_ram") {
        cpu.socket.bind(sram.socket);
        kpu.socket.bind(kpu_ram.socket);
    }
};

TEST(K210Memories, ModulesHaveTheK210SizesAndDefaultTiming) {
    K210Bench bench("k210");
    sc_core::sc_start(sc_core::SC_ZERO_TIME);
    EXPECT_EQ(bench.sram.size(), 6291456u);
    EXPECT_EQ(bench.sram.base_address(), kGeneralSramBase);
    EXPECT_EQ(bench.kpu_ram.size(), 2097152u);
    EXPECT_EQ(bench.kpu_ram.base_address(), kKpuRamBase);
    EXPECT_EQ(bench.sram.timing().clock_hz, kGeneralSramTiming.clock_hz);
    EXPECT_EQ(bench.kpu_ram.timing().bytes_per_cycle, kKpuRamTiming.bytes_per_cycle);
    EXPECT_EQ(std::string(bench.sram.kind()), "kpusim::memory::GeneralSram");
    EXPECT_EQ(std::string(bench.kpu_ram.kind()), "kpusim::memory::KpuRam");

    // Last row of KPU RAM, written through the socket at its local offset.
    std::vector<uint8_t> row(64, 0x3C);
    const uint64_t last_row = *kpu_ram_offset(kKpuRamUncachedBase + 32767 * 64);
    const Result w = transact(bench.kpu.socket, tlm::TLM_WRITE_COMMAND, last_row, row.data(), 64);
    EXPECT_EQ(w.status, tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(w.delay, bench.kpu_ram.access_time(64));
    EXPECT_EQ(bench.kpu_ram.access_cycles(64),
              kKpuRamTiming.access_cycles + 64 / kKpuRamTiming.bytes_per_cycle);
    EXPECT_EQ(bench.kpu_ram.data()[kKpuRamSize - 1], 0x3C);
    EXPECT_EQ(transact(bench.kpu.socket, tlm::TLM_WRITE_COMMAND, kKpuRamSize, row.data(), 1).status,
              tlm::TLM_ADDRESS_ERROR_RESPONSE);

    // General SRAM at 400 MHz: one cycle = 2.5 ns.
    EXPECT_EQ(bench.sram.cycles_to_time(1), sc_time(2500, SC_PS));
    std::vector<uint8_t> weights(1000, 0x11);
    const Result s = transact(bench.cpu.socket, tlm::TLM_WRITE_COMMAND,
                              *general_sram_offset(0x40000000 + 0x100), weights.data(), 1000);
    EXPECT_EQ(s.status, tlm::TLM_OK_RESPONSE);
    EXPECT_EQ(s.delay, bench.sram.cycles_to_time(kGeneralSramTiming.access_cycles + 125));
    EXPECT_EQ(bench.sram.data()[0x100], 0x11);
}

// ---------------------------------------------------------------------------------------
// RAM presets

TEST(RamPreset, ByteValues) {
    EXPECT_EQ(preset_bytes(RamPreset::maixpy_full), 2097152u);
    EXPECT_EQ(preset_bytes(RamPreset::maixpy_minimum), 4194304u);
    EXPECT_EQ(preset_bytes(RamPreset::bare_metal), 6029312u);
    EXPECT_LT(preset_bytes(RamPreset::maixpy_full), preset_bytes(RamPreset::maixpy_minimum));
    EXPECT_LT(preset_bytes(RamPreset::maixpy_minimum), preset_bytes(RamPreset::bare_metal));
    EXPECT_LT(preset_bytes(RamPreset::bare_metal), kGeneralSramSize);
}

TEST(RamPreset, ParseAcceptsTheDocumentedNames) {
    EXPECT_EQ(parse_ram_preset("maixpy"), RamPreset::maixpy_full);
    EXPECT_EQ(parse_ram_preset("maixpy-full"), RamPreset::maixpy_full);
    EXPECT_EQ(parse_ram_preset("maixpy-minimum"), RamPreset::maixpy_minimum);
    EXPECT_EQ(parse_ram_preset("bare-metal"), RamPreset::bare_metal);
    for (RamPreset p : {RamPreset::maixpy_full, RamPreset::maixpy_minimum, RamPreset::bare_metal})
        EXPECT_EQ(parse_ram_preset(to_string(p)), p);
}

TEST(RamPreset, ParseErrorNamesTheAcceptedValues) {
    for (const char* bad : {"", "MaixPy", "maixpy_full", "minimum", "bare metal", "6M"}) {
        try {
            parse_ram_preset(bad);
            ADD_FAILURE() << "accepted '" << bad << "'";
        } catch (const std::invalid_argument& e) {
            const std::string msg = e.what();
            EXPECT_NE(msg.find(std::string("'") + bad + "'"), std::string::npos) << msg;
            for (const char* ok : {"maixpy", "maixpy-full", "maixpy-minimum", "bare-metal"})
                EXPECT_NE(msg.find(ok), std::string::npos) << msg;
        }
    }
}

// ---------------------------------------------------------------------------------------
// MainMemoryAllocator

constexpr uint64_t kMiB = 1024 * 1024;

TEST(MainMemoryAllocator, DefaultPlacementIsTheTopOfGeneralSram) {
    MainMemoryAllocator a(2 * kMiB);
    EXPECT_EQ(a.budget(), 2 * kMiB);
    EXPECT_EQ(a.base_offset(), 4 * kMiB);
    EXPECT_EQ(a.allocate(100, "x"), 4 * kMiB);
    MainMemoryAllocator whole(kGeneralSramSize);
    EXPECT_EQ(whole.base_offset(), 0u);
    MainMemoryAllocator placed(1024, 4096);
    EXPECT_EQ(placed.allocate(16, "y"), 4096u);
}

TEST(MainMemoryAllocator, BudgetBeyondGeneralSramIsInvalid) {
    EXPECT_THROW(MainMemoryAllocator(kGeneralSramSize + 1), std::invalid_argument);
    EXPECT_THROW(MainMemoryAllocator(1024, kGeneralSramSize - 1023), std::invalid_argument);
    EXPECT_THROW(MainMemoryAllocator(1024, std::numeric_limits<uint64_t>::max()), std::invalid_argument);
    EXPECT_NO_THROW(MainMemoryAllocator(1024, kGeneralSramSize - 1024));
    EXPECT_NO_THROW(MainMemoryAllocator(0));
}

TEST(MainMemoryAllocator, FitsAndExactFit) {
    MainMemoryAllocator a(1000, 0);
    const uint64_t body = a.allocate(600, "model body");
    const uint64_t main = a.allocate(400, "main memory");  // exactly the rest
    EXPECT_EQ(body, 0u);
    EXPECT_EQ(main, 600u);
    EXPECT_EQ(a.in_use(), 1000u);
    EXPECT_EQ(a.free_bytes(), 0u);
    EXPECT_EQ(a.largest_free_block(), 0u);
    EXPECT_THROW(a.allocate(1, "one more byte"), kpusim::CapacityError);

    MainMemoryAllocator exact(4096, 0);
    EXPECT_EQ(exact.allocate(4096, "everything"), 0u);
}

TEST(MainMemoryAllocator, FailureMessageNamesTheSizes) {
    MainMemoryAllocator a(preset_bytes(RamPreset::maixpy_full));
    a.allocate(kMiB, "main memory");
    try {
        a.allocate(2655688, "model body");  // MobileNet-0.75 (timing.md Part B, C1)
        FAIL() << "no CapacityError";
    } catch (const kpusim::CapacityError& e) {
        EXPECT_STREQ(e.what(),
                     "out of memory: cannot allocate 2655688 bytes for model body (budget 2097152 "
                     "bytes, 1048576 in use, 1048576 free)");
    }
    // The failed request changed nothing.
    EXPECT_EQ(a.in_use(), kMiB);
    EXPECT_EQ(a.allocations().size(), 1u);
}

TEST(MainMemoryAllocator, FragmentationIsReportedWithTheLargestFreeBlock) {
    MainMemoryAllocator a(3000, 0);
    const uint64_t first = a.allocate(1000, "a");
    a.allocate(1000, "b");
    a.allocate(1000, "c");
    a.free(first);
    EXPECT_EQ(a.allocate(200, "d"), 0u);  // first fit: into the first gap
    a.free(1000);  // frees "b": 200..2000 becomes one gap
    EXPECT_EQ(a.free_bytes(), 1800u);
    EXPECT_EQ(a.largest_free_block(), 1800u);
    a.free(0);
    a.allocate(500, "e", 1);  // 0..500
    a.allocate(600, "f", 1);  // 500..1100, leaves 1100..2000 (900)
    // free: 900 + 0 = 900; ask 950 -> out of memory, without the largest-block note.
    try {
        a.allocate(950, "g");
        FAIL();
    } catch (const kpusim::CapacityError& e) {
        EXPECT_EQ(std::string(e.what()).find("largest free block"), std::string::npos) << e.what();
    }
    a.free(0);  // now free 500 at 0 and 900 at 1100: 1400 free, largest 900
    try {
        a.allocate(1000, "g");
        FAIL();
    } catch (const kpusim::CapacityError& e) {
        EXPECT_STREQ(e.what(),
                     "out of memory: cannot allocate 1000 bytes for g (budget 3000 bytes, 1600 in use, "
                     "1400 free, largest free block 900 bytes)");
    }
}

TEST(MainMemoryAllocator, FreeAndReuse) {
    MainMemoryAllocator a(4096, 0);
    const uint64_t x = a.allocate(1024, "x");
    const uint64_t y = a.allocate(1024, "y");
    EXPECT_EQ(y, 1024u);
    a.free(x);
    EXPECT_EQ(a.in_use(), 1024u);
    EXPECT_EQ(a.allocate(512, "z"), x);  // lowest gap that fits
    EXPECT_EQ(a.allocate(1024, "w"), 2048u);  // the 512 left at 512 is too small
    EXPECT_THROW(a.free(x + 1), std::invalid_argument);  // not a block start
    a.free(y);
    EXPECT_THROW(a.free(y), std::invalid_argument);  // double free

    const auto live = a.allocations();
    ASSERT_EQ(live.size(), 2u);
    EXPECT_EQ(live[0].address, 0u);
    EXPECT_EQ(live[0].size, 512u);
    EXPECT_EQ(live[0].what, "z");
    EXPECT_EQ(live[1].address, 2048u);
    EXPECT_EQ(live[1].what, "w");

    a.reset();
    EXPECT_EQ(a.in_use(), 0u);
    EXPECT_EQ(a.peak(), 0u);
    EXPECT_TRUE(a.allocations().empty());
    EXPECT_EQ(a.allocate(4096, "all"), 0u);
}

TEST(MainMemoryAllocator, Alignment) {
    MainMemoryAllocator a(4096, 0);
    EXPECT_EQ(a.allocate(3, "odd"), 0u);
    EXPECT_EQ(a.allocate(8, "default 8"), 8u);
    EXPECT_EQ(a.allocate(1, "byte", 1), 3u);  // first fit: the gap 3..8 left by alignment
    EXPECT_EQ(a.allocate(10, "weights", 128), 128u);
    EXPECT_EQ(a.allocate(10, "act table", 256), 256u);
    EXPECT_EQ(a.in_use(), 3u + 8 + 1 + 10 + 10);  // gaps are not "in use"
    for (uint32_t bad : {0u, 3u, 12u, 0x80000001u})
        EXPECT_THROW(a.allocate(8, "bad", bad), std::invalid_argument) << bad;

    // Alignment is of the SRAM offset, also when the budget starts unaligned.
    MainMemoryAllocator b(1024, 100);
    EXPECT_EQ(b.allocate(1, "first", 64), 128u);
    // An alignment larger than the whole budget cannot be met inside it.
    MainMemoryAllocator c(1024, 4096 + 8);
    EXPECT_THROW(c.allocate(1, "huge alignment", 4096), kpusim::CapacityError);
}

TEST(MainMemoryAllocator, ZeroByteRequestsGetDistinctAddresses) {
    MainMemoryAllocator a(64, 0);
    const uint64_t p = a.allocate(0, "empty", 1);
    const uint64_t q = a.allocate(0, "empty", 1);
    EXPECT_NE(p, q);
    a.free(p);
    a.free(q);
    EXPECT_EQ(a.in_use(), 0u);
    MainMemoryAllocator none(0);
    EXPECT_THROW(none.allocate(0, "nothing"), kpusim::CapacityError);
}

TEST(MainMemoryAllocator, PeakTracksTheHighestUse) {
    MainMemoryAllocator a(preset_bytes(RamPreset::bare_metal));
    const uint64_t body = a.allocate(2655688, "model body");
    const uint64_t work = a.allocate(1500000, "main memory");
    EXPECT_EQ(a.peak(), 2655688u + 1500000u);
    a.free(work);
    a.allocate(1000, "input");
    EXPECT_EQ(a.in_use(), 2656688u);
    EXPECT_EQ(a.peak(), 4155688u);
    a.free(body);
    EXPECT_EQ(a.peak(), 4155688u);
}

}  // namespace
