#pragma once
// The defect library: every analysed scan and its defects in one SQLite file, so defects from many scans can be
// clustered together and counted.
//
//   DefectLibrary lib("lib.sqlite");                      // creates it (WAL journal) or opens it
//   lib.addScan(result, sha256File(result.path));         // false when that file is already in
//   LibraryDescriptors all = lib.allDescriptors();        // n x d, one row per defect with a descriptor
//   lib.setClusters(all.defectIds, labels);
//   lib.exportCsv("defects.csv");  LibraryStats s = lib.stats();
//
// Errors (InputError naming the file): not an SQLite file, made by a newer stmlens, locked by another process for
// longer than the busy timeout. Every change is one transaction: an error changes nothing.
// One DefectLibrary per thread; several processes may share the file (SQLite's locking).
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/Result.h"

struct sqlite3;

namespace stmlens {

struct LibraryDescriptors {
    std::vector<int64_t> defectIds;   // library row ids, for setClusters
    std::vector<float> values;        // n x dims, row-major
    std::vector<std::string> classes; // per defect, its class ("" when none was stored)
    std::vector<std::map<std::string, double>> typeScores;   // per defect, the type network's (empty: none)
    int n = 0, dims = 0;
};

struct ScanDensity {
    int64_t scanId = 0;
    std::string path;
    int64_t defects = 0;
    double areaNm2 = 0;               // width * height in nm^2, 0 when the pixel size is unknown
    double defectsPerNm2 = 0;         // 0 when the area is unknown
};

struct LibraryStats {
    int64_t scans = 0, defects = 0;
    std::map<int, int64_t> perCluster;         // -1 = not clustered / outlier
    std::map<std::string, int64_t> perClass;
    std::vector<ScanDensity> perScan;
};

class DefectLibrary {
public:
    // 2: defects.type_scores (JSON object, the type network's probabilities). Version 1 files are upgraded on open.
    static constexpr int kSchemaVersion = 2;

    // Opens or creates the file. busyTimeoutMs: how long to wait for another process's lock before failing.
    explicit DefectLibrary(const std::string& path, int busyTimeoutMs = 5000);
    ~DefectLibrary();
    DefectLibrary(const DefectLibrary&) = delete;
    DefectLibrary& operator=(const DefectLibrary&) = delete;

    // Adds the scan and its defects in one transaction. Returns false, changing nothing, when a scan with that
    // file hash is already in the library.
    bool addScan(const AnalysisResult& result, const std::string& fileSha256);
    bool hasScan(const std::string& fileSha256);

    // Every defect with a descriptor. Throws InputError when descriptors differ in length (e.g. libraries made
    // with different descriptor settings).
    LibraryDescriptors allDescriptors();
    // Sets the cluster of each listed defect (one transaction); every other defect becomes -1.
    void setClusters(const std::vector<int64_t>& defectIds, const std::vector<int>& clusters);

    // One row per defect, with its scan's path and hash. Written atomically.
    void exportCsv(const std::string& csvPath);
    LibraryStats stats();

    // Named JSON values kept with the library, e.g. "pca" for the projection descriptors were reduced with.
    void setProperty(const std::string& key, const std::string& json);
    std::optional<std::string> property(const std::string& key);

    // Holds the library's write lock until destroyed (or commit()), so that a read-compute-write sequence, such
    // as re-clustering, is one transaction; other processes wait (busy timeout) or fail with a clear error.
    // Calls on this DefectLibrary inside it join the same transaction (as savepoints). Rolls back unless committed.
    class WriteLock {
    public:
        ~WriteLock();
        WriteLock(WriteLock&& other) noexcept;
        WriteLock(const WriteLock&) = delete;
        WriteLock& operator=(const WriteLock&) = delete;
        void commit();

    private:
        friend class DefectLibrary;
        explicit WriteLock(DefectLibrary* lib) : lib_(lib) {}
        DefectLibrary* lib_;
    };
    WriteLock lockForWriting();

    const std::string& path() const { return path_; }

private:
    friend class WriteLock;
    void begin();
    void commit();
    void rollback();
    int depth_ = 0;   // open transactions: the outermost is BEGIN IMMEDIATE, inner ones savepoints

    void exec(const char* sql);
    [[noreturn]] void fail(const std::string& what);
    std::string path_;
    sqlite3* db_ = nullptr;
    int busyTimeoutMs_;
};

}  // namespace stmlens
