#pragma once
// Each subcommand lives in its own file and registers itself on the CLI11 app.
// A command's callback returns the process exit code: 0 ok, 1 analysis failed, 2 bad input or usage.
#include <CLI/CLI.hpp>
#include <functional>

namespace stmlens::cli {

using Runner = std::function<int()>;

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
