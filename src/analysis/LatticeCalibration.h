#pragma once
// The H-Si(100) 2x1 dimer rows seen in the power spectrum: their direction(s), their pitch in pixels, and from
// the known row pitch (0.768 nm) the pixel size of a scan that carries none.
//
//   std::vector<RowLattice> rows = findRowLattices(levelled);        // up to 2 domains, strongest first
//   if (auto px = calibratePixelSize(levelled)) scan.pixelSize = *px;  // nullopt: no confident row peak
//   DomainMap domains = mapDomains(levelled, rows, 64);                 // which domain every pixel is in
//   int d = domains.domainAt(atom.x, atom.y);
//
// Angles: the direction the rows run, in degrees from +x counter-clockwise as the image is displayed
// (row 0 at the top), in [0, 180). When the pixel size is known, angles and nm pitches are physical
// (non-square pixels accounted for); otherwise they are in the pixel grid.
#include <optional>
#include <vector>

#include "core/Image.h"
#include "core/Result.h"

namespace stmlens {

// Row pitch of H-Si(100) 2x1 (distance between neighbouring dimer rows) and the dimer pitch along a row.
inline constexpr double kRowPitchNm = 0.768;
inline constexpr double kDimerPitchNm = 0.384;

struct RowLattice {
    bool found = false;
    double pitchPx = 0;         // row-to-row distance, pixels, measured along the row normal
    double pitchNm = 0;         // same in nm; 0 when the pixel size is unknown
    double directionDeg = 0;    // direction the rows run
    double strength = 0;        // spectral peak power over its radial background (ratio, > ~10 is clear)
    double dimerPitchPx = 0;    // pitch of the dimers along the rows when that peak is seen too, else 0
    double dimerPitchNm = 0;    // same in nm (pixel size known and dimer peak seen), else 0
    double waveX = 0, waveY = 0;  // the row peak's wave vector, cycles per pixel (x = column, y = row)
    double dimerWaveX = 0, dimerWaveY = 0;  // the dimer peak's, when seen
    // A clear peak of the same period 60 degrees from this one: a three-fold (hexagonal) lattice such as
    // Si(111) or a metal, whose spots no Si(100) 2x1 spectrum has (its domains turn by 90 degrees; its dimer
    // and sum peaks sit at 2 and 2.24 times the row frequency). Set on the strongest lattice only.
    bool threeFold = false;
    double threeFoldAngleDeg = 0;  // angle to that peak when threeFold
};

struct LatticeOptions {
    double minPeriodPx = 2.2;     // shortest row pitch considered (2 = Nyquist)
    double maxPeriodPx = 64;      // longest (also capped at a quarter of the image)
    double minStrength = 12;      // peak-to-background power ratio needed to call a lattice found
    double minPredictedStrength = 4;  // same, for the row peak where a strong dimer/harmonic peak predicts it
    double minConfirmedStrength = 8;  // a weaker row peak counts when the dimer peak (perpendicular, twice the
                                      // frequency) is seen too: two peaks in that geometry are seldom chance
    // With a known pixel size, a clear peak too fine for rows but within this fraction of the 0.384 nm dimer pitch
    // is read as the dimer wave, and its row peak then needs only minDimerOnlyRowStrength.
    double dimerOnlyPitchTolerance = 0.15;
    double minDimerOnlyRowStrength = 2;
    double minSecondDomainFraction = 0.02;  // a second domain's strength relative to the first
    double minThreeFoldFraction = 0.1;      // a 60-degree partner's strength relative to the rows, for threeFold
    // With a known pixel size, only rows with a pitch in this range (nm) count; 0 = no limit.
    double minPitchNm = 0, maxPitchNm = 0;
    int maxTile = 1024;           // larger scans: power spectra of tiles this big are averaged
    // With a known pixel size, where the spectrum shows no lattice or one domain, the spectrum of the scan with its
    // local contrast equalised (over about 1.5 nm) is read too, so the rows of a dark terrace count as much as
    // those of a bright one (constant-height scans): its lattice, or its second domain, is added.
    // calibratePixelSize never equalises.
    bool equaliseContrast = true;
};

// Up to two row domains (rows turn by 90 degrees across single-height steps), strongest first.
// Empty when no confident row peak is found.
std::vector<RowLattice> findRowLattices(const Image& levelled, const LatticeOptions& options = {});

// Pixel size from the lattice; nullopt when no confident peak or a three-fold lattice (not Si(100) 2x1). Where
// two perpendicular periodicities are measured (rows and the dimers along them, 0.384 nm; or the rows of two
// domains) and they separate x from y, x and y are calibrated separately; otherwise a square pixel that makes the
// row pitch 0.768 nm. Without pitch limits in the options (the default) the result does not depend on the pixel
// size the image carries: it reads the pixel grid.
std::optional<PixelSize> calibratePixelSize(const Image& levelled, const LatticeOptions& options = {});
// The same from lattices already found (their wave vectors are in the pixel grid, whatever the pixel size).
std::optional<PixelSize> pixelSizeFromLattices(const std::vector<RowLattice>& lattices);

// Where the spectrum gives one lattice: the second domain (its rows turned by 90 degrees in the sample plane)
// when the local amplitude of that turned wave (Gabor filter, as mapDomains) stands over four times its
// background and over the first rows' across a tenth of the scan. On vicinal surfaces the staircase of steps puts
// a ridge through one domain's row peak, so the spectrum hides it. Its strength is the mean ratio where it shows.
std::optional<RowLattice> perpendicularDomain(const Image& levelled, const RowLattice& only);

// Per-pixel domain assignment from the local amplitude of each domain's waves (a Gabor filter: Gaussian of sigma
// = windowPx / 4.5), against that of the same spatial frequency turned away from every domain's rows.
// windowPx 0: sigma two row pitches, small enough to follow terraces 3-5 nm wide and long enough to tell the
// domains' frequencies apart.
struct DomainMap {
    Image label;                        // domain index per pixel as float, -1 where no domain's rows show
    std::vector<double> areaFractions;  // per domain, fraction of the image's pixels
    int domainAt(double x, double y) const;
};
DomainMap mapDomains(const Image& levelled, const std::vector<RowLattice>& lattices, int windowPx = 0);

// The result's lattice summary: the largest domain's row direction and pitch (nm; 0 when the pixel size is
// unknown), the dimer pitch (measured where the dimer peak shows, else half the row pitch, as the 2x1
// structure has it), and every domain with its area fraction. `site` is left as "atom" (the caller knows).
LatticeInfo latticeInfo(const std::vector<RowLattice>& lattices, const DomainMap& domains);

// Sets each site's domain from the map (-1 where no domain's rows show).
void assignDomains(std::vector<AtomSite>& sites, const DomainMap& domains);

// Row direction (degrees) per pixel from mapDomains over findRowLattices; -1 where unknown.
Image rowDirectionMap(const Image& levelled, int windowPx = 0);

}  // namespace stmlens
