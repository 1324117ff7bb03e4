// stmlens convert IN OUT: any readable scan to .npy / .png / .tiff, physical units kept where the format allows.
#include <iostream>

#include "Commands.h"
#include "core/Errors.h"
#include "core/Level.h"
#include "io/ImageWriter.h"
#include "io/ScanReader.h"

namespace stmlens::cli {

namespace {
struct ConvertOptions {
    std::string in, out, pixelSize, channel, direction;
    bool level = false;
};
}  // namespace

Runner addConvertCommand(CLI::App& app) {
    auto opt = std::make_shared<ConvertOptions>();
    auto* cmd = app.add_subcommand("convert", "Convert a scan to .npy (float32), .png (16-bit, Gwyddion calibration), .tiff (float32) or .gwy (Gwyddion)");
    cmd->add_option("input", opt->in, "Scan file")->required();
    cmd->add_option("output", opt->out, "Output file (.npy, .png, .tif, .tiff, .gwy)")->required();
    cmd->add_option("--pixel-size", opt->pixelSize, "Pixel size in nm, X[,Y], for formats without one");
    cmd->add_option("--channel", opt->channel, "Channel name (default: the first)");
    cmd->add_option("--direction", opt->direction, "forward | backward")->check(CLI::IsMember({"forward", "backward"}));
    cmd->add_flag("--level", opt->level, "Subtract a plane and align scan lines before writing");
    return [opt]() {
        ReadOptions ro;
        if (!opt->pixelSize.empty()) ro.pixelSize = PixelSize::parse(opt->pixelSize);
        const ScanFile f = readScanFile(opt->in, ro);
        Image img = f.select(opt->channel, opt->direction);
        if (opt->level) {
            levelScan(img);
        }
        writeImage(opt->out, img);
        std::cout << "wrote " << opt->out << " (" << img.width() << " x " << img.height() << ", pixel "
                  << img.pixelSize.str() << ")\n";
        return 0;
    };
}

}  // namespace stmlens::cli
