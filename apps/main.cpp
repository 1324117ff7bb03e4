// stmlens: find atoms and defects in STM scans of H-Si(100) 2x1.
#include <iostream>
#include <map>

#include "Commands.h"
#include "core/Errors.h"

int main(int argc, char** argv) {
    CLI::App app{"stmlens: atoms and defects in STM scans of H-Si(100) 2x1"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "stmlens 0.1.0");

    std::map<CLI::App*, stmlens::cli::Runner> runners;
    auto add = [&](stmlens::cli::Runner (*fn)(CLI::App&)) {
        const size_t before = app.get_subcommands({}).size();
        auto runner = fn(app);
        auto subs = app.get_subcommands({});
        if (subs.size() > before) runners[subs.back()] = std::move(runner);
    };
    add(stmlens::cli::addInfoCommand);
    add(stmlens::cli::addConvertCommand);
    add(stmlens::cli::addSimulateCommand);
    add(stmlens::cli::addLibraryCommand);
    add(stmlens::cli::addTrainCommand);
    add(stmlens::cli::addAnalyzeCommand);
    add(stmlens::cli::addWatchCommand);
    add(stmlens::cli::addServeCommand);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int rc = app.exit(e);
        return rc == 0 ? 0 : 2;
    }
    for (auto& [sub, run] : runners) {
        if (!sub->parsed()) continue;
        try {
            return run();
        } catch (const stmlens::InputError& e) {
            std::cerr << "stmlens: error: " << e.what() << "\n";
            return 2;
        } catch (const stmlens::AnalysisError& e) {
            std::cerr << "stmlens: analysis failed: " << e.what() << "\n";
            return 1;
        } catch (const std::exception& e) {
            std::cerr << "stmlens: failed: " << e.what() << "\n";
            return 1;
        }
    }
    return 2;
}
