// Dataset runs (sim/dataset_run.h) over a small folder made from ../shared/images/coffee.png:
// the same records as single runs of each picture, in input order, whatever the thread count.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <stb_image.h>
#include <stb_image_resize.h>
#include <stb_image_write.h>

#include "models/kmodel_error.h"
#include "models/kmodel_loader.h"
#include "sim/classification.h"
#include "sim/dataset_run.h"
#include "sim/model_input.h"
#include "sim/run_options.h"
#include "sim/run_report.h"
#include "tests/test_support.h"

using namespace kpusim;
namespace fs = std::filesystem;

namespace {

const char* kMobileNet = "models/mobilenetv1_0.75_imagenet_v3/mbnet75.kmodel";
const char* kLabels = "models/mobilenetv1_0.75_imagenet_v3/labels.txt";

// espresso/a.png (the picture as is), espresso/b.jpg, cup/c.png (100x80), cup/d.bmp (300x200),
// loose.png (32x32) and notes.txt (not a picture).
struct PictureFolder {
    fs::path root = fs::temp_directory_path() / ("kpusim_dataset_" + std::to_string(getpid()));
    PictureFolder() {
        fs::remove_all(root);
        fs::create_directories(root / "espresso");
        fs::create_directories(root / "cup");
        const std::string src = test::shared_path("images/coffee.png");
        fs::copy_file(src, root / "espresso" / "a.png");
        int w = 0, h = 0, c = 0;
        unsigned char* px = stbi_load(src.c_str(), &w, &h, &c, 3);
        if (!px) throw std::runtime_error("cannot decode coffee.png");
        auto resized = [&](int rw, int rh) {
            std::vector<unsigned char> out(static_cast<size_t>(rw) * rh * 3);
            stbir_resize_uint8(px, w, h, 0, out.data(), rw, rh, 0, 3);
            return out;
        };
        stbi_write_jpg((root / "espresso" / "b.jpg").c_str(), w, h, 3, px, 90);
        auto c1 = resized(100, 80);
        stbi_write_png((root / "cup" / "c.png").c_str(), 100, 80, 3, c1.data(), 100 * 3);
        auto d1 = resized(300, 200);
        stbi_write_bmp((root / "cup" / "d.bmp").c_str(), 300, 200, 3, d1.data());
        auto e1 = resized(32, 32);
        stbi_write_png((root / "loose.png").c_str(), 32, 32, 3, e1.data(), 32 * 3);
        std::ofstream(root / "notes.txt") << "not a picture\n";
        stbi_image_free(px);
    }
    ~PictureFolder() { fs::remove_all(root); }
};

}  // namespace

TEST(DatasetRun, ListsPicturesOfAFolderSortedAndFilesAsGiven) {
    PictureFolder f;
    const auto files = list_dataset_inputs({f.root.string()});
    const std::vector<std::string> expected = {(f.root / "cup/c.png").string(), (f.root / "cup/d.bmp").string(),
                                               (f.root / "espresso/a.png").string(),
                                               (f.root / "espresso/b.jpg").string(), (f.root / "loose.png").string()};
    EXPECT_EQ(files, expected);
    const auto two = list_dataset_inputs({(f.root / "loose.png").string(), (f.root / "cup").string()});
    ASSERT_EQ(two.size(), 3u);
    EXPECT_EQ(two[0], (f.root / "loose.png").string());
    EXPECT_THROW(list_dataset_inputs({(f.root / "missing").string()}), InputError);
    fs::create_directories(f.root / "empty");
    EXPECT_THROW(list_dataset_inputs({(f.root / "empty").string()}), InputError);
}

TEST(DatasetRun, RecordsEqualSingleRunsInInputOrderForOneAndTwoThreads) {
    PictureFolder f;
    const Model m = load_kmodel(test::shared_path(kMobileNet));
    // A broken picture among the good ones gets an error record, in its place.
    std::ofstream(f.root / "cup" / "broken.png") << "garbage";
    const auto files = list_dataset_inputs({f.root.string()});
    ASSERT_EQ(files.size(), 6u);
    const auto labels = load_labels(test::shared_path(kLabels));

    std::vector<std::string> single;
    for (const auto& file : files) {
        PictureRecord r;
        r.file = file;
        try {
            r.outputs = run_functional(m, load_model_input(file, m.input));
            r.classifier = true;
            r.top = top_k(r.outputs.front().as_floats(), 5);
        } catch (const std::exception& e) {
            r.error = e.what();
            r.outputs.clear();
        }
        single.push_back(record_json(r, labels).dump());
    }
    ASSERT_EQ(files[0], (f.root / "cup" / "broken.png").string());
    EXPECT_NE(single[0].find("\"error\""), std::string::npos) << single[0];

    for (unsigned threads : {1u, 2u, 3u}) {
        SCOPED_TRACE(std::to_string(threads) + " threads");
        DatasetOptions opt;
        opt.threads = threads;
        opt.keep_outputs = true;
        size_t calls = 0, last = 0;
        opt.progress = [&](size_t done, size_t total) {
            ++calls;
            EXPECT_EQ(done, last + 1);
            EXPECT_EQ(total, files.size());
            last = done;
        };
        const auto records = run_dataset(m, files, opt);
        ASSERT_EQ(records.size(), files.size());
        EXPECT_EQ(calls, files.size());
        for (size_t i = 0; i < files.size(); ++i)
            EXPECT_TRUE(record_json(records[i], labels).dump() == single[i]) << "record " << i << " of " << files[i];
    }
}

TEST(DatasetRun, AccuracyFromClassFolders) {
    PictureFolder f;
    const Model m = load_kmodel(test::shared_path(kMobileNet));
    const auto labels = load_labels(test::shared_path(kLabels));
    DatasetOptions opt;
    opt.threads = 2;
    const auto records = run_dataset(m, list_dataset_inputs({f.root.string()}), opt);
    const AccuracySummary s = accuracy(records, labels);
    EXPECT_EQ(s.pictures, 4u);   // espresso/ and cup/ name ImageNet classes 967 and 968
    EXPECT_EQ(s.unmatched, 1u);  // loose.png: its folder is no class
    size_t top1 = 0, top5 = 0;
    for (const auto& r : records) {
        const std::string folder = fs::path(r.file).parent_path().filename().string();
        const uint32_t truth = folder == "espresso" ? 967 : folder == "cup" ? 968 : 100000;
        if (truth == 100000) continue;
        top1 += r.top.at(0).class_id == truth;
        for (const auto& c : r.top) top5 += c.class_id == truth;
    }
    EXPECT_EQ(s.top1, top1);
    EXPECT_EQ(s.top5, top5);
    EXPECT_GE(s.top5, 1u);  // the coffee picture is an espresso / cup within the top 5
    std::ostringstream text;
    print_accuracy(s, text);
    EXPECT_NE(text.str().find("top-1"), std::string::npos);
    EXPECT_NE(text.str().find("espresso: 2"), std::string::npos) << text.str();
}

TEST(DatasetRun, CommandLineWritesOneRecordPerPictureInOrder) {
    PictureFolder f;
    const fs::path records = f.root.string() + "_records.jsonl";
    const std::string cmd = "SYSTEMC_DISABLE_COPYRIGHT_MESSAGE=1 \"" + test::kpusim_binary() + "\" run " +
                            test::shared_path(kMobileNet) + " --input " + f.root.string() + " --threads 2 --labels " +
                            test::shared_path(kLabels) + " --records " + records.string() + " > " +
                            f.root.string() + "_out.txt 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    std::ifstream in(records);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    const auto files = list_dataset_inputs({f.root.string()});
    ASSERT_EQ(lines.size(), files.size());
    for (size_t i = 0; i < files.size(); ++i) {
        const auto j = nlohmann::json::parse(lines[i]);
        EXPECT_EQ(j.at("file"), files[i]);
        EXPECT_EQ(j.at("top").size(), 5u);
    }
    std::ifstream out(f.root.string() + "_out.txt");
    const std::string text((std::istreambuf_iterator<char>(out)), std::istreambuf_iterator<char>());
    EXPECT_NE(text.find("5 pictures"), std::string::npos) << text;
    EXPECT_NE(text.find("timing (same for every picture"), std::string::npos) << text;
    EXPECT_NE(text.find("top-5"), std::string::npos) << text;
    EXPECT_EQ(text.find("\r["), std::string::npos) << "no progress bar when not a terminal";
    fs::remove(records);
    fs::remove(f.root.string() + "_out.txt");
}

// A detector's dataset records carry what a single `kpusim run` decodes for each picture (the
// same guess, boxes in each picture's pixels, anchors and warnings), for any thread count.
// CanMV's V4 face detector takes its anchors from the known-model table, found by the model's
// SHA-256, which a dataset run computes once and hands to every picture's decoding.
TEST(DatasetRun, DetectorRecordsEqualSingleRunDecoding) {
    const fs::path root = fs::temp_directory_path() / ("kpusim_dataset_faces_" + std::to_string(getpid()));
    fs::remove_all(root);
    fs::create_directories(root);
    for (const char* face : {"face_21.jpg", "face_27.jpg"})
        fs::copy_file(test::shared_path(std::string("models/face_detect_maixpy_v3/") + face), root / face);
    fs::copy_file(test::shared_path("images/coffee.png"), root / "no_face.png");
    const auto files = list_dataset_inputs({root.string()});
    ASSERT_EQ(files.size(), 3u);
    DecodeText decode;  // guessed, as a plain `kpusim run`

    for (const char* model_path : {"models/face_detect_maixpy_v3/facedetect.kmodel",
                                   "models/face_detect_canmv_v4/face_detect_320x240.kmodel"}) {
        SCOPED_TRACE(model_path);
        const Model m = load_kmodel(test::shared_path(model_path));
        const bool canmv = std::string(model_path).find("canmv") != std::string::npos;
        std::vector<std::string> single;
        size_t faces = 0;
        for (const auto& file : files) {
            RunReport report;
            const auto outputs = run_functional(m, load_model_input(file, m.input));
            const auto [w, h] = picture_size(file, m.input);
            decode_into_report(m, outputs, decode, w, h, report);
            EXPECT_EQ(report.decode, "yolo2");
            faces += report.detections.size();
            nlohmann::ordered_json j;
            j["file"] = file;
            const nlohmann::ordered_json decoded = decoded_json(report);
            for (const auto& [k, v] : decoded.items()) j[k] = v;
            single.push_back(j.dump());
        }
        EXPECT_EQ(faces, 2u);  // one face on each face picture, none on the coffee cup

        for (unsigned threads : {1u, 2u}) {
            SCOPED_TRACE(std::to_string(threads) + " threads");
            DatasetOptions opt;
            opt.threads = threads;
            opt.decode = &decode;
            const auto records = run_dataset(m, files, opt);
            ASSERT_EQ(records.size(), files.size());
            for (size_t i = 0; i < files.size(); ++i) {
                EXPECT_TRUE(records[i].outputs.empty()) << "decoded records keep no raw outputs";
                const std::string record = record_json(records[i], {}).dump();
                EXPECT_EQ(record, single[i]) << files[i];
                if (canmv) {  // the anchors of the known-model table, found by the hash
                    EXPECT_NE(record.find("known model face_detect_canmv_v4"), std::string::npos) << record;
                }
            }
        }
    }
    fs::remove_all(root);
}
