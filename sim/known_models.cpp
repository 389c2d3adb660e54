#include "sim/known_models.h"

namespace kpusim {

std::vector<float> canmv_v4_face_anchors() {
    return {0.1075f,    0.126875f, 0.126875f,  0.175f,     0.1465625f, 0.2246875f,
            0.1953125f, 0.25375f,  0.2440625f, 0.351875f,  0.341875f,  0.4721875f,
            0.5078125f, 0.6696875f, 0.8984375f, 1.099687f, 2.129062f,  2.425937f};
}

const std::vector<KnownModel>& known_models() {
    static const std::vector<KnownModel> table = {
        {"face_detect_canmv_v3", "79984f17729e8901b56c039f634eed27b8171cf5a445de29effd0b107ec9a086",
         DecodeKind::yolo2, default_anchors(9, 1)},
        {"face_detect_canmv_v4", "37a0df060100feb6eaf4cbee3b0f2e21cc8d5cdf73f07818d7164c86f945b035",
         DecodeKind::yolo2, canmv_v4_face_anchors()},
        {"yolo20_voc_nncase_v3", "33219de6ffa0b24b8c41a82d09888070c72be68356ca457f3b722d25fdff95ab",
         DecodeKind::yolo2, {}},
        {"yolo20_voc_nncase_v4", "efea350547a62f457412443dc1f35fb6dec965ceadb27af09c709f08b6ef8255",
         DecodeKind::yolo2, {}},
        {"ulffd_rfb320_v4", "0eae1840201396b1c05861fbc4e96b9e8fd60651905e24c38441e2658a9d0a7c",
         DecodeKind::ultraface, {}},
        {"ulffd_slim320_v4", "4714da89f1578ec92a4ad9c274f88f487ef40ccaab3d4d9ef0e5088f5cecda7e",
         DecodeKind::ultraface, {}},
        {"ulffd_landmark_v4", "f95e8facdfdc26d25cc3e9450cfe466a6f9c5c848a4d6df70e4138fabbb0a7f6",
         DecodeKind::ultraface_landmark, {}},
        {"mobilenet0.25_feature_canmv_v4", "21c7b40ed18b74aa5673b20dff075b1c851b732e6bfb5073d5ce9717eb8dc69c",
         DecodeKind::features, {}},
        {"mnist_canmv_v4", "923e1c8464a8043468a483e071465c31480fe424660b999ebcbd6d73e492a291",
         DecodeKind::classify, {}},
    };
    return table;
}

const KnownModel* find_known_model(const std::string& sha256) {
    for (const KnownModel& m : known_models())
        if (sha256 == m.sha256) return &m;
    return nullptr;
}

std::vector<float> builtin_yolo2_anchors(const std::string& sha256, const Shape& input, uint32_t anchor_count,
                                         uint32_t classes, std::string* origin) {
    auto say = [&](const std::string& text) {
        if (origin) *origin = text;
    };
    const KnownModel* known = find_known_model(sha256);
    if (known && known->decode == DecodeKind::yolo2 && known->anchors.size() == 2u * anchor_count) {
        say(std::string("known model ") + known->name);
        return known->anchors;
    }
    if (anchor_count == 9 && classes == 1 && input.w == 320 && input.h == 240) {
        say("CanMV's 320x240 face detector (9 anchors, 1 class, 320 x 240 input)");
        return canmv_v4_face_anchors();
    }
    std::vector<float> anchors = default_anchors(anchor_count, classes);
    say(anchors.empty() ? std::string()
                        : "the output layout (" + std::to_string(anchor_count) + " anchors, " +
                              std::to_string(classes) + (classes == 1 ? " class)" : " classes)"));
    return anchors;
}

}  // namespace kpusim
