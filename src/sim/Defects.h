#pragma once
// Defects as rendering primitives and label shapes in surface nanometres, plus the lattice sites they touch.
// Placement snaps point defects to lattice sites of the terrace they sit on; contamination and lithographic
// patches are extended. Internal to the simulator.
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "sim/Rng.h"
#include "sim/SceneConfig.h"
#include "sim/ScanWarp.h"
#include "sim/Simulator.h"
#include "sim/Terraces.h"

namespace stmlens::sim {

struct Primitive {
    enum class Kind : uint8_t {
        Gauss,    // amp * exp(-du^2/2su^2 - dv^2/2sv^2), broadened by the tip blur (volume kept)
        Cover,    // hides the lattice contrast: weight amp inside the window (max-combined)
        Box,      // amp inside the window (plateau)
        Stripes,  // amp * cos(2 pi dv / period) inside the window
    };
    Kind kind = Kind::Gauss;
    double sx = 0, sy = 0;    // centre, surface nm
    double ca = 1, sa = 0;    // u axis (along the dimer row) direction
    double su = 0.1, sv = 0.1;  // sigma (Gauss) or half size (windows), nm
    double amp = 0;
    double period = 1;
    double soft = 0.15;       // window edge softness, nm
    bool ellipse = false;     // window shape
    bool blur = true;         // Gauss: broaden with the tip blur

    double reachNm(double blur) const;
};

struct LabelShape {
    double sx = 0, sy = 0, ca = 1, sa = 0;
    double hu = 0.5, hv = 0.5;   // half sizes, nm (ellipse semi-axes or box half sides)
    bool ellipse = true;
    PixelClass cls = PixelClass::Bright;
};

struct DefectPlan {
    std::string type;
    PixelClass cls = PixelClass::Bright;
    bool extended = false;
    double sx = 0, sy = 0;               // centroid, surface nm
    std::vector<uint64_t> sites;         // atom keys
    std::vector<Primitive> prims;
    std::vector<LabelShape> labels;
};

enum AtomState : uint8_t { kRemoved = 1, kBare = 2 };
uint64_t atomKey(int terrace, int i, int j, int side);

// Surface nm <-> lattice coordinates (u along the row, v across; atoms at u = i a1, v = j a2 -+ bond/2).
void latticeToSurface(const TerraceLattice& L, double u, double v, double& sx, double& sy);
void surfaceToLattice(const TerraceLattice& L, double sx, double sy, double& u, double& v);
double atomV(int j, int side);

// Places point defects, contamination and lithographic patches over the frame; fills atomState.
std::vector<DefectPlan> planDefects(const SceneConfig& cfg, const Terraces& terraces, const ScanWarp& warp,
                                    Rng& rng, std::unordered_map<uint64_t, uint8_t>& atomState);

}  // namespace stmlens::sim
