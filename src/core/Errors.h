#pragma once
// Error types that map to the command line's exit codes:
// InputError (bad file, bad parameter) -> 2, AnalysisError (valid input, analysis could not finish) -> 1.
#include <stdexcept>
#include <string>

namespace stmlens {

class InputError : public std::runtime_error {
public:
    explicit InputError(const std::string& what) : std::runtime_error(what) {}
    // Message of the form "<path>: <problem>" so every error names its file.
    InputError(const std::string& path, const std::string& problem)
        : std::runtime_error(path + ": " + problem) {}
};

class AnalysisError : public std::runtime_error {
public:
    explicit AnalysisError(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace stmlens
