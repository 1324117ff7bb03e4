// `stmlens simulate` writes every file of a sample, consistent with each other; bad options exit with 2.
#include <gtest/gtest.h>

#include <cstdlib>
#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "io/NpyReader.h"

namespace fs = std::filesystem;

TEST(SimCli, WritesImageLabelsAndTruth) {
    const fs::path dir = fs::temp_directory_path() / ("stmlens_sim_cli_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    const std::string cmd = std::string(STMLENS_CLI) + " simulate --count 2 --size 96 --pixel-size 0.05 --preset atomic --seed 3 --out " +
                            dir.string() + " > /dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    for (const char* stem : {"scan_0000", "scan_0001"}) {
        for (const char* suffix : {".npy", ".png", "_truth.json", "_labels.npy", "_labels.png", "_atoms.npy", "_resolved.npy"})
            EXPECT_TRUE(fs::exists(dir / (std::string(stem) + suffix))) << stem << suffix;
        const auto img = stmlens::readNpy((dir / (std::string(stem) + ".npy")).string());
        const auto labels = stmlens::readNpy((dir / (std::string(stem) + "_labels.npy")).string());
        ASSERT_EQ(img.shape, (std::vector<size_t>{96, 96}));
        EXPECT_EQ(labels.shape, img.shape);
        EXPECT_EQ(labels.dtype.substr(1), "u1");
        std::ifstream f(dir / (std::string(stem) + "_truth.json"));
        const auto j = nlohmann::json::parse(f);
        EXPECT_EQ(j["schema"], "stmlens.sim/1");
        EXPECT_EQ(j["width"], 96);
        EXPECT_DOUBLE_EQ(j["pixel_size_nm"][0].get<double>(), 0.05);
        EXPECT_EQ(j["atoms"]["x"].size(), j["atoms"]["dimer"].size());
        EXPECT_GT(j["atoms"]["x"].size(), 50u);
        EXPECT_EQ(j["label_classes"].size(), 6u);
        for (const auto& d : j["defects"]) {
            EXPECT_TRUE(d.contains("type"));
            EXPECT_EQ(d["bbox"].size(), 4u);
        }
    }
    fs::remove_all(dir);
}

TEST(SimCli, BadOptionsExitWithTwo) {
    const std::string base = std::string(STMLENS_CLI) + " simulate --count 1 --size 32 --out /tmp/stmlens_sim_cli_bad ";
    EXPECT_EQ(WEXITSTATUS(std::system((base + "--preset nosuch 2>/dev/null").c_str())), 2);
    EXPECT_EQ(WEXITSTATUS(std::system((base + "--pixel-size -1 2>/dev/null").c_str())), 2);
    EXPECT_EQ(WEXITSTATUS(std::system((base + "--pixel-size 9 2>/dev/null").c_str())), 2);
}
