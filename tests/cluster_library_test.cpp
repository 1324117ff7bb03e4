#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sqlite3.h>
#include <unistd.h>

#include "core/Errors.h"
#include "library/DefectLibrary.h"
#include "library/LibraryClustering.h"
#include "library/Sha256.h"

using namespace stmlens;
namespace fs = std::filesystem;

namespace {
struct TempDir {
    fs::path dir;
    TempDir() {
        dir = fs::temp_directory_path() / ("stmlens_lib_" + std::to_string(::getpid()) + "_" +
                                           ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir);
        fs::create_directories(dir);
    }
    ~TempDir() { fs::remove_all(dir); }
    std::string operator/(const std::string& name) const { return (dir / name).string(); }
};

AnalysisResult scanWith(int defects, int dims, const std::string& path = "scan.npy") {
    AnalysisResult r;
    r.path = path;
    r.width = 100;
    r.height = 50;
    r.pixelSize = PixelSize::square(0.1);  // 10 nm x 5 nm = 50 nm^2
    r.assessment.verdict = "usable";
    for (int i = 0; i < defects; ++i) {
        Defect d;
        d.id = i;
        d.x = 10 + i;
        d.y = 20;
        d.cls = i % 2 ? "DB" : "DV";
        for (int k = 0; k < dims; ++k) d.descriptor.push_back(static_cast<float>(i * 10 + k));
        r.defects.push_back(d);
    }
    return r;
}

std::string readAll(const std::string& path) {
    std::ifstream f(path);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
}

bool haveSqliteCli() { return std::system("sqlite3 -version > /dev/null 2>&1") == 0; }
}  // namespace

// FIPS 180-4 / NIST example vectors.
TEST(Sha256, KnownVectors) {
    EXPECT_EQ(sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    Sha256 h;  // one million 'a', fed in uneven pieces
    const std::string chunk(777, 'a');
    size_t left = 1000000;
    while (left > 0) {
        const size_t take = std::min(left, chunk.size());
        h.update(chunk.data(), take);
        left -= take;
    }
    EXPECT_EQ(h.hexDigest(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, FilesHashLikeTheirBytes) {
    TempDir t;
    {
        std::ofstream f(t / "x.bin", std::ios::binary);
        f << "abc";
    }
    EXPECT_EQ(sha256File(t / "x.bin"), sha256Hex("abc"));
    EXPECT_THROW(sha256File(t / "missing.bin"), InputError);
}

TEST(DefectLibrary, AddsScansOnceAndCounts) {
    TempDir t;
    const std::string path = t / "lib.sqlite";
    {
        DefectLibrary lib(path);
        EXPECT_TRUE(lib.addScan(scanWith(3, 4), "hash-a"));
        EXPECT_FALSE(lib.addScan(scanWith(3, 4), "hash-a"));  // same file: no duplicate
        EXPECT_TRUE(lib.addScan(scanWith(2, 4, "other.npy"), "hash-b"));
        EXPECT_TRUE(lib.hasScan("hash-b"));
    }
    DefectLibrary lib(path);  // persisted
    const LibraryStats s = lib.stats();
    EXPECT_EQ(s.scans, 2);
    EXPECT_EQ(s.defects, 5);
    EXPECT_EQ(s.perClass.at("DV"), 3);
    EXPECT_EQ(s.perClass.at("DB"), 2);
    EXPECT_EQ(s.perCluster.at(-1), 5);
    ASSERT_EQ(s.perScan.size(), 2u);
    EXPECT_NEAR(s.perScan[0].areaNm2, 50.0, 1e-9);
    EXPECT_NEAR(s.perScan[0].defectsPerNm2, 3 / 50.0, 1e-12);
    EXPECT_EQ(s.perScan[1].path, "other.npy");
}

// `--out results/ --library results/lib.sqlite` on a fresh folder: the library's folder is made, not refused.
TEST(DefectLibrary, NewLibraryInAFolderNotYetMade) {
    TempDir t;
    const std::string path = t / "runs/day1/lib.sqlite";
    {
        DefectLibrary lib(path);
        EXPECT_TRUE(lib.addScan(scanWith(2, 3), "hash-a"));
    }
    EXPECT_TRUE(fs::exists(path));
    EXPECT_EQ(DefectLibrary(path).stats().defects, 2);
}

TEST(DefectLibrary, DescriptorsRoundTripAndClustersAreStored) {
    TempDir t;
    DefectLibrary lib(t / "lib.sqlite");
    lib.addScan(scanWith(3, 4), "h1");
    AnalysisResult none = scanWith(1, 0);  // a defect without descriptor is kept but not clustered
    lib.addScan(none, "h2");
    const LibraryDescriptors all = lib.allDescriptors();
    ASSERT_EQ(all.n, 3);
    ASSERT_EQ(all.dims, 4);
    EXPECT_EQ(all.values[2 * 4 + 3], 23.f);
    lib.setClusters(all.defectIds, {0, 1, 0});
    const LibraryStats s = lib.stats();
    EXPECT_EQ(s.perCluster.at(0), 2);
    EXPECT_EQ(s.perCluster.at(1), 1);
    EXPECT_EQ(s.perCluster.at(-1), 1);
    EXPECT_THROW(lib.setClusters(all.defectIds, {0}), InputError);

    lib.addScan(scanWith(1, 7), "h3");
    EXPECT_THROW(lib.allDescriptors(), InputError);  // 4 and 7 values
}

TEST(DefectLibrary, TypeScoresRoundTrip) {
    TempDir t;
    DefectLibrary lib(t / "lib.sqlite");
    AnalysisResult r = scanWith(2, 3);
    r.defects[1].typeScores = {{"siloxane", 0.75}, {"dangling_bond", 0.25}};
    lib.addScan(r, "h1");
    const LibraryDescriptors all = lib.allDescriptors();
    ASSERT_EQ(all.typeScores.size(), 2u);
    EXPECT_TRUE(all.typeScores[0].empty());
    EXPECT_EQ(all.typeScores[1], r.defects[1].typeScores);
}

// A library of schema 1 (before type scores) is upgraded on open: its scans, defects and descriptors stay, new
// scans keep their type scores.
TEST(DefectLibrary, UpgradesSchemaOneAndLosesNothing) {
    TempDir t;
    const std::string path = t / "old.sqlite";
    { DefectLibrary lib(path); lib.addScan(scanWith(3, 2), "h1"); }
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "ALTER TABLE defects DROP COLUMN type_scores; UPDATE schema_version SET version = 1;",
                           nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(db);

    DefectLibrary lib(path);
    LibraryDescriptors all = lib.allDescriptors();
    ASSERT_EQ(all.n, 3);
    EXPECT_EQ(all.values[2 * 2 + 1], 21.f);
    AnalysisResult r = scanWith(1, 2, "new.npy");
    r.defects[0].typeScores = {{"siloxane", 1.0}};
    EXPECT_TRUE(lib.addScan(r, "h2"));
    all = lib.allDescriptors();
    ASSERT_EQ(all.n, 4);
    EXPECT_EQ(all.typeScores[3].at("siloxane"), 1.0);

    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT MAX(version) FROM schema_version", -1, &st, nullptr), SQLITE_OK);
    ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
    EXPECT_EQ(sqlite3_column_int(st, 0), DefectLibrary::kSchemaVersion);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

TEST(DefectLibrary, ExportsCsv) {
    TempDir t;
    DefectLibrary lib(t / "lib.sqlite");
    AnalysisResult r = scanWith(2, 2, "dir/scan, with comma.sxm");
    r.defects[1].typeScores = {{"siloxane", 0.25}, {"dangling_bond", 0.75}};
    lib.addScan(r, "h1");
    lib.exportCsv(t / "out.csv");
    const std::string csv = readAll(t / "out.csv");
    std::istringstream lines(csv);
    std::string header, first, second, extra;
    std::getline(lines, header);
    std::getline(lines, first);
    std::getline(lines, second);
    EXPECT_FALSE(std::getline(lines, extra));
    EXPECT_EQ(header, "scan_id,scan_path,file_sha256,verdict,defect_id,x_px,y_px,x_nm,y_nm,class,cluster,descriptor,"
                      "likely_type,likely_type_probability");
    EXPECT_EQ(first, "1,\"dir/scan, with comma.sxm\",h1,usable,0,10,20,1,2,DV,-1,0 1,,");
    EXPECT_EQ(second, "1,\"dir/scan, with comma.sxm\",h1,usable,1,11,20,1.1,2,DB,-1,10 11,dangling_bond,0.75");
}

TEST(DefectLibrary, PropertiesKeepJson) {
    TempDir t;
    DefectLibrary lib(t / "lib.sqlite");
    EXPECT_FALSE(lib.property("pca").has_value());
    lib.setProperty("pca", "{\"a\":1}");
    lib.setProperty("pca", "{\"a\":2}");
    EXPECT_EQ(lib.property("pca").value(), "{\"a\":2}");
}

TEST(DefectLibrary, RefusesFilesThatAreNotLibraries) {
    TempDir t;
    {
        std::ofstream f(t / "text.sqlite");
        f << "this is not a database, just some text long enough to have a header";
    }
    try {
        DefectLibrary lib(t / "text.sqlite");
        FAIL() << "opened a text file";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("not an SQLite database"), std::string::npos) << e.what();
    }
    EXPECT_EQ(readAll(t / "text.sqlite").substr(0, 9), "this is n");  // untouched

    if (!haveSqliteCli()) GTEST_SKIP() << "sqlite3 command-line tool not installed";
    const std::string other = t / "other.sqlite";
    ASSERT_EQ(std::system(("sqlite3 '" + other + "' 'CREATE TABLE t(x);'").c_str()), 0);
    EXPECT_THROW(DefectLibrary lib(other), InputError);

    const std::string newer = t / "newer.sqlite";
    { DefectLibrary lib(newer); }
    ASSERT_EQ(std::system(("sqlite3 '" + newer + "' 'UPDATE schema_version SET version = 99;'").c_str()), 0);
    try {
        DefectLibrary lib(newer);
        FAIL() << "opened a library from a newer schema";
    } catch (const InputError& e) {
        EXPECT_NE(std::string(e.what()).find("newer"), std::string::npos) << e.what();
    }
}

// A second process (here: a second connection) holding the write lock: a clear error after the busy timeout,
// nothing half-written, and the same call succeeds once the lock is gone.
TEST(DefectLibrary, LockedLibraryFailsCleanlyAndLosesNothing) {
    TempDir t;
    const std::string path = t / "lib.sqlite";
    DefectLibrary holder(path);
    holder.addScan(scanWith(2, 3), "first");
    DefectLibrary waiter(path, 50);
    {
        DefectLibrary::WriteLock lock = holder.lockForWriting();
        holder.addScan(scanWith(1, 3, "inside.npy"), "inside");
        try {
            waiter.addScan(scanWith(4, 3), "second");
            FAIL() << "wrote through another connection's lock";
        } catch (const InputError& e) {
            EXPECT_NE(std::string(e.what()).find("locked"), std::string::npos) << e.what();
        }
        EXPECT_EQ(waiter.stats().scans, 1);  // readers still see the committed state (WAL)
        lock.commit();
    }
    EXPECT_TRUE(waiter.addScan(scanWith(4, 3), "second"));
    const LibraryStats s = waiter.stats();
    EXPECT_EQ(s.scans, 3);
    EXPECT_EQ(s.defects, 7);
}

TEST(DefectLibrary, UncommittedWriteLockRollsBack) {
    TempDir t;
    DefectLibrary lib(t / "lib.sqlite");
    {
        auto lock = lib.lockForWriting();
        lib.addScan(scanWith(2, 3), "gone");
    }
    EXPECT_EQ(lib.stats().scans, 0);
    EXPECT_TRUE(lib.addScan(scanWith(2, 3), "gone"));
}

// --- clustering a run into a library (library/LibraryClustering.h) ---
namespace {
// A scan with `bright` and `dark` described defects; descriptors of 40 values in two loose groups per class.
struct DescribedScan {
    AnalysisResult result;
    DescriptorSet set;
};
DescribedScan describedScan(int bright, int dark, unsigned seed, const std::string& path) {
    DescribedScan s;
    s.result = scanWith(0, 0, path);
    s.set.dims = 40;
    std::srand(seed);
    for (int i = 0; i < bright + dark; ++i) {
        Defect d;
        d.id = i;
        d.x = 5 + i % 90;
        d.y = 5 + i / 90;
        d.cls = i < bright ? "bright" : "dark";
        s.result.defects.push_back(d);
        std::vector<float> v(40);
        for (int k = 0; k < 40; ++k) v[k] = static_cast<float>((i % 2) * 5 + (k % 3) + 0.3 * (std::rand() % 100) / 100.0);
        s.set.values.push_back(v);
        s.set.patches.push_back({});
    }
    return s;
}
}  // namespace

// The first scan of a watched folder has a handful of defects: a projection fitted on them must not become the
// library's (every later scan would be reduced to its few noisy axes), and its descriptors, reduced by it, must
// not be stored. A run with enough defects of a class fixes that class's projection; later small runs use it.
TEST(LibraryClustering, ProjectionsComeFromRunsWithEnoughDefectsAndSmallRunsReuseThem) {
    TempDir t;
    DefectLibrary lib(t / "lib.sqlite");
    DescribedScan small = describedScan(4, 3, 1, "small.npy");
    LibraryClustering c = clusterWithLibrary({&small.result}, {&small.set}, ClusteringOptions{}, &lib);
    EXPECT_FALSE(lib.property("pca.bright").has_value());
    EXPECT_FALSE(lib.property("pca.dark").has_value());
    EXPECT_EQ(c.warnings.size(), 2u);
    EXPECT_FALSE(c.allComparable);
    AnalysisResult stored = forLibrary(small.result, c);
    for (const Defect& d : stored.defects) EXPECT_TRUE(d.descriptor.empty());
    for (const Defect& d : small.result.defects) EXPECT_FALSE(d.descriptor.empty());   // the run's own output keeps them
    ASSERT_TRUE(lib.addScan(stored, "sha-small"));

    // 40 bright, 5 dark: the bright projection is fixed, the dark one not yet.
    DescribedScan big = describedScan(40, 5, 2, "big.npy");
    c = clusterWithLibrary({&big.result}, {&big.set}, ClusteringOptions{}, &lib);
    ASSERT_TRUE(lib.property("pca.bright").has_value());
    EXPECT_FALSE(lib.property("pca.dark").has_value());
    stored = forLibrary(big.result, c);
    for (const Defect& d : stored.defects) EXPECT_EQ(d.descriptor.empty(), d.cls == "dark") << d.cls;
    ASSERT_TRUE(lib.addScan(stored, "sha-big"));
    const std::string fixed = *lib.property("pca.bright");

    // A later small run reduces its bright defects with the library's projection: stored, and comparable.
    DescribedScan later = describedScan(3, 0, 3, "later.npy");
    c = clusterWithLibrary({&later.result}, {&later.set}, ClusteringOptions{}, &lib);
    EXPECT_TRUE(c.comparable.count("bright"));
    EXPECT_EQ(*lib.property("pca.bright"), fixed);
    stored = forLibrary(later.result, c);
    for (const Defect& d : stored.defects) EXPECT_FALSE(d.descriptor.empty());
    ASSERT_TRUE(lib.addScan(stored, "sha-later"));
    const LibraryDescriptors all = lib.allDescriptors();   // one length for every stored descriptor
    EXPECT_EQ(all.n, 43);
    EXPECT_GT(all.dims, 0);
}

// A library made with other descriptor settings keeps its projection; this run's descriptors are not stored.
TEST(LibraryClustering, ProjectionOfOtherSettingsIsNeitherUsedNorReplaced) {
    TempDir t;
    DefectLibrary lib(t / "lib.sqlite");
    DescribedScan big = describedScan(40, 0, 4, "big.npy");
    clusterWithLibrary({&big.result}, {&big.set}, ClusteringOptions{}, &lib);
    const std::string fixed = *lib.property("pca.bright");
    DescribedScan other = describedScan(40, 0, 5, "other.npy");
    for (auto& v : other.set.values) v.resize(30);
    other.set.dims = 30;
    const LibraryClustering c = clusterWithLibrary({&other.result}, {&other.set}, ClusteringOptions{}, &lib);
    EXPECT_EQ(*lib.property("pca.bright"), fixed);
    ASSERT_FALSE(c.warnings.empty());
    EXPECT_NE(c.warnings[0].find("other descriptor settings"), std::string::npos) << c.warnings[0];
    for (const Defect& d : forLibrary(other.result, c).defects) EXPECT_TRUE(d.descriptor.empty());
}
