// stmlens info FILE...: what a scan file holds, with its physical units.
#include <cstdio>
#include <iostream>

#include "Commands.h"
#include "core/Errors.h"
#include "io/ScanReader.h"

namespace stmlens::cli {

namespace {
struct InfoOptions {
    std::vector<std::string> files;
    std::string pixelSize, channel, direction;
};

void printImage(const Image& img) {
    const auto r = valueRange(img);
    std::printf("  channel %-14s %-9s %5d x %-5d px", img.meta.channel.c_str(),
                img.meta.direction.empty() ? "-" : img.meta.direction.c_str(), img.width(), img.height());
    if (img.pixelSize.known())
        std::printf("  pixel %.5g x %.5g nm (%s)  scan %.4g x %.4g nm", img.pixelSize.x_nm, img.pixelSize.y_nm,
                    img.meta.pixelSizeSource.c_str(), img.widthNm(), img.heightNm());
    else
        std::printf("  pixel size unknown (give --pixel-size)");
    std::printf("\n    values %.6g .. %.6g %s, mean %.6g", r.min, r.max, img.meta.units.c_str(), r.mean);
    if (img.hasMask())
        std::printf(", %zu of %zu pixels valid", img.validCount(), img.size());
    std::printf("\n");
    if (img.meta.biasV) std::printf("    bias %.4g V\n", *img.meta.biasV);
    if (img.meta.setpointA) std::printf("    setpoint %.4g A\n", *img.meta.setpointA);
    if (img.meta.scanAngleDeg) std::printf("    scan angle %.4g deg\n", *img.meta.scanAngleDeg);
}
}  // namespace

Runner addInfoCommand(CLI::App& app) {
    auto opt = std::make_shared<InfoOptions>();
    auto* cmd = app.add_subcommand("info", "Show format, size, pixel size, channels, value range and metadata");
    cmd->add_option("files", opt->files, "Scan files")->required();
    cmd->add_option("--pixel-size", opt->pixelSize, "Pixel size in nm, X[,Y], for formats without one");
    cmd->add_option("--channel", opt->channel, "Show only this channel (name as listed)");
    cmd->add_option("--direction", opt->direction, "Show only this direction")->check(CLI::IsMember({"forward", "backward"}));
    return [opt]() {
        ReadOptions ro;
        if (!opt->pixelSize.empty()) ro.pixelSize = PixelSize::parse(opt->pixelSize);
        int rc = 0;
        for (const auto& path : opt->files) {
            try {
                const ScanFile f = readScanFile(path, ro);
                std::printf("%s\n  format %s, %zu channel(s)\n", path.c_str(), f.format.c_str(), f.channels.size());
                if (!opt->channel.empty() || !opt->direction.empty()) {
                    printImage(f.select(opt->channel, opt->direction));
                } else {
                    // Channels and the directions each was recorded in, then every image.
                    std::string list;
                    for (const auto& img : f.channels)
                        list += (list.empty() ? "" : ", ") + img.meta.channel +
                                (img.meta.direction.empty() ? "" : " (" + img.meta.direction + ")");
                    std::printf("  channels: %s\n", list.c_str());
                    for (const auto& img : f.channels) printImage(img);
                }
                for (const auto& w : f.warnings) std::printf("  warning: %s\n", w.c_str());
            } catch (const InputError& e) {
                std::cerr << "stmlens: error: " << e.what() << "\n";
                rc = 2;
            }
        }
        return rc;
    };
}

}  // namespace stmlens::cli
