#pragma once
// Each subcommand lives in its own file and registers itself on the CLI11 app.
// A command's callback returns the process exit code: 0 ok, 1 analysis failed, 2 bad input or usage.
#include <CLI/CLI.hpp>
#include <functional>
#include <string>

#include "analysis/TypeMerge.h"

namespace stmlens::cli {

using Runner = std::function<int()>;

// --precision, shared by the commands that run the networks (analyze, watch, serve).
inline void addPrecisionOption(CLI::App* cmd, std::string& value) {
    cmd->add_option("--precision", value, "Network arithmetic: auto (bf16 where the CPU has AMX or AVX512-BF16, else fp32), "
                                          "fp32, or bf16")
        ->capture_default_str()->check(CLI::IsMember({"auto", "fp32", "bf16"}));
}

// --row-contrast, shared by the same commands: whether the dimer rows show bright (normal) or dark (inverted).
inline void addRowContrastOption(CLI::App* cmd, std::string& value) {
    cmd->add_option("--row-contrast", value, "Dimer-row contrast: auto (guess from the atom finder's confidence), normal "
                                             "(bright rows), or inverted (dark rows, bright troughs: atoms are found on "
                                             "the negated scan)")
        ->capture_default_str()->check(CLI::IsMember({"auto", "normal", "inverted"}));
}

// --mirror-average, shared by the same commands: the atom finder averaged over the scan's mirror images.
inline void addMirrorAverageOption(CLI::App* cmd, bool& value) {
    cmd->add_flag("--mirror-average", value, "Average the atom finder over the scan and its three mirror images: "
                                             "slightly more accurate atoms (F1 +0.001 to +0.009 on simulated scans), "
                                             "about twice the analysis time");
}

// --type-merge-across / --type-merge-within / --no-type-merge, shared by analyze and library cluster.
inline void addTypeMergeOptions(CLI::App& cmd, TypeMergeOptions& merge, bool& off) {
    cmd.add_option("--type-merge-across", merge.across,
                   "Join clusters of different defect classes whose mean type probabilities give the same most "
                   "probable type at least this much (a siloxane is bright in one bias polarity, dark in the other)")
        ->capture_default_str()->check(CLI::Range(0.0, 1.0));
    cmd.add_option("--type-merge-within", merge.within,
                   "The same for clusters of one class (mean-shift split them by the maps)")
        ->capture_default_str()->check(CLI::Range(0.0, 1.0));
    cmd.add_flag("--no-type-merge", off, "Keep mean-shift's clusters as they are");
}

// Adds the subcommand to app and returns what to run when it is chosen.
Runner addInfoCommand(CLI::App& app);
Runner addConvertCommand(CLI::App& app);
Runner addSimulateCommand(CLI::App& app);
Runner addLibraryCommand(CLI::App& app);
Runner addTrainCommand(CLI::App& app);
Runner addAnalyzeCommand(CLI::App& app);
Runner addWatchCommand(CLI::App& app);
Runner addServeCommand(CLI::App& app);

}  // namespace stmlens::cli
