#include "library/DefectLibrary.h"

#include <sqlite3.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "core/Errors.h"
#include "io/AtomicFile.h"

namespace stmlens {

namespace {

// Prepared statement that finalizes itself.
class Statement {
public:
    // On failure get() is null; the caller reports it with the library's path.
    Statement(sqlite3* db, const char* sql) { sqlite3_prepare_v2(db, sql, -1, &st_, nullptr); }
    ~Statement() { sqlite3_finalize(st_); }
    sqlite3_stmt* get() { return st_; }
    void bind(int i, double v) { sqlite3_bind_double(st_, i, v); }
    void bind(int i, int64_t v) { sqlite3_bind_int64(st_, i, v); }
    void bind(int i, int v) { sqlite3_bind_int(st_, i, v); }
    void bind(int i, const std::string& v) { sqlite3_bind_text(st_, i, v.c_str(), -1, SQLITE_TRANSIENT); }
    void bindNull(int i) { sqlite3_bind_null(st_, i); }
    void bindBlob(int i, const void* p, size_t n) {
        sqlite3_bind_blob(st_, i, p, static_cast<int>(n), SQLITE_TRANSIENT);
    }
    std::string text(int col) {
        const unsigned char* t = sqlite3_column_text(st_, col);
        return t ? reinterpret_cast<const char*>(t) : "";
    }

private:
    sqlite3_stmt* st_ = nullptr;
};

constexpr const char* kSchema = R"sql(
CREATE TABLE schema_version(version INTEGER NOT NULL);
CREATE TABLE properties(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE scans(
  id INTEGER PRIMARY KEY,
  path TEXT NOT NULL,
  file_sha256 TEXT NOT NULL UNIQUE,
  pixel_size_x_nm REAL,
  pixel_size_y_nm REAL,
  width INTEGER NOT NULL,
  height INTEGER NOT NULL,
  verdict TEXT,
  metadata TEXT,
  added_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')));
CREATE TABLE defects(
  id INTEGER PRIMARY KEY,
  scan_id INTEGER NOT NULL REFERENCES scans(id) ON DELETE CASCADE,
  defect_id INTEGER NOT NULL,
  x REAL NOT NULL,
  y REAL NOT NULL,
  x_nm REAL,
  y_nm REAL,
  class TEXT,
  cluster INTEGER NOT NULL DEFAULT -1,
  descriptor BLOB,
  type_scores TEXT);
CREATE INDEX defects_by_scan ON defects(scan_id);
)sql";

bool looksLikeSqlite(const std::string& path) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec) || std::filesystem::file_size(path, ec) == 0) return true;  // new file
    std::ifstream f(path, std::ios::binary);
    char magic[16] = {};
    f.read(magic, 16);
    return f.gcount() == 16 && std::memcmp(magic, "SQLite format 3\0", 16) == 0;
}

std::string csvField(const std::string& s) {
    if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
    std::string q = "\"";
    for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
}

// The type_scores column (a JSON object written by addScan); anything else is left out rather than trusted.
std::map<std::string, double> typeScoresOf(const unsigned char* text) {
    std::map<std::string, double> scores;
    if (!text) return scores;
    const auto j = nlohmann::json::parse(reinterpret_cast<const char*>(text), nullptr, false);
    if (j.is_object())
        for (const auto& [k, v] : j.items())
            if (v.is_number()) scores[k] = v.get<double>();
    return scores;
}

std::string metadataJson(const AnalysisResult& r) {
    nlohmann::json j;
    j["format"] = r.format;
    j["channel"] = r.channel;
    j["direction"] = r.direction;
    j["pixelSizeSource"] = r.pixelSizeSource;
    j["verdict"] = r.assessment.verdict;
    j["reasons"] = r.assessment.reasons;
    j["resolvedFraction"] = r.assessment.resolvedFraction;
    j["lattice"] = {{"found", r.lattice.found},
                    {"rowDirectionDeg", r.lattice.rowDirectionDeg},
                    {"rowPitchNm", r.lattice.rowPitchNm},
                    {"site", r.lattice.site}};
    j["atoms"] = r.atoms.size();
    j["defects"] = r.defects.size();
    j["contaminationFraction"] = r.contaminationFraction;
    j["models"] = r.models;
    j["warnings"] = r.warnings;
    return j.dump();
}

}  // namespace

void DefectLibrary::fail(const std::string& what) {
    const int rc = db_ ? sqlite3_errcode(db_) : SQLITE_ERROR;
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
        throw InputError(path_, "the library is locked by another process (waited " +
                                    std::to_string(busyTimeoutMs_) + " ms); nothing was changed, try again");
    if (rc == SQLITE_NOTADB) throw InputError(path_, "not an SQLite database, so not a stmlens defect library");
    throw InputError(path_, what + ": " + (db_ ? sqlite3_errmsg(db_) : "cannot open"));
}

void DefectLibrary::exec(const char* sql) {
    char* err = nullptr;
    const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
    sqlite3_free(err);
    if (rc != SQLITE_OK) fail("database error");
}

DefectLibrary::DefectLibrary(const std::string& path, int busyTimeoutMs) : path_(path), busyTimeoutMs_(busyTimeoutMs) {
    if (!looksLikeSqlite(path)) throw InputError(path, "not an SQLite database, so not a stmlens defect library");
    // A new library may go into a folder that does not exist yet (--out results/ --library results/lib.sqlite).
    if (const auto parent = std::filesystem::path(path).parent_path(); !parent.empty()) {
        std::error_code ec;
        std::filesystem::create_directories(parent, ec);   // a failure shows as sqlite's own "cannot open"
    }
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK) {
        const std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
        sqlite3_close(db_);
        db_ = nullptr;
        throw InputError(path, "cannot open the library: " + msg);
    }
    try {
        sqlite3_busy_timeout(db_, busyTimeoutMs_);
        exec("PRAGMA foreign_keys = ON");
        // Tables present? An SQLite file that has tables but no schema_version was made by something else.
        Statement tables(db_, "SELECT name FROM sqlite_master WHERE type = 'table'");
        if (!tables.get()) fail("cannot read the library");
        std::set<std::string> names;
        int rc;
        while ((rc = sqlite3_step(tables.get())) == SQLITE_ROW) names.insert(tables.text(0));
        if (rc != SQLITE_DONE) fail("cannot read the library");
        if (names.empty()) {
            exec("PRAGMA journal_mode = WAL");
            begin();
            try {
                exec(kSchema);
                exec(("INSERT INTO schema_version(version) VALUES (" + std::to_string(kSchemaVersion) + ")").c_str());
                commit();
            } catch (...) {
                rollback();
                throw;
            }
        } else if (!names.count("schema_version")) {
            throw InputError(path, "an SQLite database, but not a stmlens defect library (no schema_version table)");
        } else {
            Statement v(db_, "SELECT MAX(version) FROM schema_version");
            if (!v.get() || sqlite3_step(v.get()) != SQLITE_ROW) fail("cannot read the schema version");
            const int version = sqlite3_column_int(v.get(), 0);
            if (version > kSchemaVersion)
                throw InputError(path, "made by a newer stmlens (library schema " + std::to_string(version) +
                                           "; this build reads up to " + std::to_string(kSchemaVersion) + ")");
            exec("PRAGMA journal_mode = WAL");
            if (version < 2) {
                // Schema 2 keeps the type network's probabilities per defect; older defects have none.
                begin();
                try {
                    exec("ALTER TABLE defects ADD COLUMN type_scores TEXT");
                    exec("UPDATE schema_version SET version = 2");
                    commit();
                } catch (...) {
                    rollback();
                    throw;
                }
            }
        }
    } catch (...) {
        sqlite3_close(db_);
        db_ = nullptr;
        throw;
    }
}

DefectLibrary::~DefectLibrary() {
    if (db_) sqlite3_close(db_);
}

// The outermost transaction is BEGIN IMMEDIATE (takes the write lock now, so a busy library fails before any
// work is done); nested ones are savepoints, so a failed inner step undoes only itself.
void DefectLibrary::begin() {
    const std::string sql = depth_ == 0 ? "BEGIN IMMEDIATE" : "SAVEPOINT s" + std::to_string(depth_);
    char* err = nullptr;
    const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
    sqlite3_free(err);
    if (rc != SQLITE_OK) fail("cannot start a transaction");
    ++depth_;
}

void DefectLibrary::commit() {
    if (depth_ == 0) return;
    --depth_;
    const std::string sql = depth_ == 0 ? "COMMIT" : "RELEASE s" + std::to_string(depth_);
    char* err = nullptr;
    const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
    sqlite3_free(err);
    if (rc != SQLITE_OK) {
        if (depth_ == 0) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        fail("cannot commit");
    }
}

void DefectLibrary::rollback() {
    if (depth_ == 0) return;
    --depth_;
    const std::string sql = depth_ == 0 ? "ROLLBACK"
                                        : "ROLLBACK TO s" + std::to_string(depth_) + "; RELEASE s" + std::to_string(depth_);
    sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
}

DefectLibrary::WriteLock DefectLibrary::lockForWriting() {
    begin();
    return WriteLock(this);
}

DefectLibrary::WriteLock::WriteLock(WriteLock&& other) noexcept : lib_(other.lib_) { other.lib_ = nullptr; }

DefectLibrary::WriteLock::~WriteLock() {
    if (lib_) lib_->rollback();
}

void DefectLibrary::WriteLock::commit() {
    if (!lib_) return;
    DefectLibrary* lib = lib_;
    lib_ = nullptr;
    lib->commit();
}

bool DefectLibrary::hasScan(const std::string& fileSha256) {
    Statement q(db_, "SELECT 1 FROM scans WHERE file_sha256 = ?");
    if (!q.get()) fail("cannot query scans");
    q.bind(1, fileSha256);
    const int rc = sqlite3_step(q.get());
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) fail("cannot query scans");
    return rc == SQLITE_ROW;
}

bool DefectLibrary::addScan(const AnalysisResult& r, const std::string& fileSha256) {
    if (fileSha256.empty()) throw InputError(path_, "cannot add " + r.path + " without its file hash");
    begin();
    try {
        if (hasScan(fileSha256)) {
            rollback();
            return false;
        }
        Statement ins(db_,
                      "INSERT INTO scans(path, file_sha256, pixel_size_x_nm, pixel_size_y_nm, width, height, verdict, "
                      "metadata) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
        if (!ins.get()) fail("cannot add the scan");
        ins.bind(1, r.path);
        ins.bind(2, fileSha256);
        if (r.pixelSize.known()) {
            ins.bind(3, r.pixelSize.x_nm);
            ins.bind(4, r.pixelSize.y_nm);
        } else {
            ins.bindNull(3);
            ins.bindNull(4);
        }
        ins.bind(5, r.width);
        ins.bind(6, r.height);
        ins.bind(7, r.assessment.verdict);
        ins.bind(8, metadataJson(r));
        if (sqlite3_step(ins.get()) != SQLITE_DONE) fail("cannot add the scan");
        const int64_t scanId = sqlite3_last_insert_rowid(db_);

        Statement def(db_,
                      "INSERT INTO defects(scan_id, defect_id, x, y, x_nm, y_nm, class, cluster, descriptor, type_scores) "
                      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
        if (!def.get()) fail("cannot add the defects");
        for (const Defect& d : r.defects) {
            sqlite3_reset(def.get());
            sqlite3_clear_bindings(def.get());
            def.bind(1, scanId);
            def.bind(2, d.id);
            def.bind(3, d.x);
            def.bind(4, d.y);
            if (r.pixelSize.known()) {
                def.bind(5, d.x * r.pixelSize.x_nm);
                def.bind(6, d.y * r.pixelSize.y_nm);
            }
            def.bind(7, d.cls);
            def.bind(8, d.cluster);
            // Descriptors as little-endian float32 (every platform we build for).
            if (!d.descriptor.empty()) def.bindBlob(9, d.descriptor.data(), d.descriptor.size() * sizeof(float));
            if (!d.typeScores.empty()) def.bind(10, nlohmann::json(d.typeScores).dump());
            if (sqlite3_step(def.get()) != SQLITE_DONE) fail("cannot add the defects");
        }
        commit();
        return true;
    } catch (...) {
        rollback();
        throw;
    }
}

LibraryDescriptors DefectLibrary::allDescriptors() {
    Statement q(db_, "SELECT id, descriptor, class, type_scores FROM defects WHERE descriptor IS NOT NULL ORDER BY id");
    if (!q.get()) fail("cannot read descriptors");
    LibraryDescriptors out;
    int rc;
    while ((rc = sqlite3_step(q.get())) == SQLITE_ROW) {
        const int bytes = sqlite3_column_bytes(q.get(), 1);
        const void* blob = sqlite3_column_blob(q.get(), 1);
        if (bytes == 0 || bytes % sizeof(float) != 0 || !blob) continue;
        const int dims = bytes / static_cast<int>(sizeof(float));
        if (out.n > 0 && dims != out.dims)
            throw InputError(path_, "defect descriptors differ in length (" + std::to_string(out.dims) + " and " +
                                        std::to_string(dims) +
                                        "): scans were added with different descriptor settings");
        out.dims = dims;
        const size_t at = out.values.size();
        out.values.resize(at + static_cast<size_t>(dims));
        std::memcpy(out.values.data() + at, blob, static_cast<size_t>(bytes));
        out.defectIds.push_back(sqlite3_column_int64(q.get(), 0));
        const unsigned char* cls = sqlite3_column_text(q.get(), 2);
        out.classes.emplace_back(cls ? reinterpret_cast<const char*>(cls) : "");
        out.typeScores.push_back(typeScoresOf(sqlite3_column_text(q.get(), 3)));
        ++out.n;
    }
    if (rc != SQLITE_DONE) fail("cannot read descriptors");
    return out;
}

void DefectLibrary::setClusters(const std::vector<int64_t>& defectIds, const std::vector<int>& clusters) {
    if (defectIds.size() != clusters.size())
        throw InputError(path_, "setClusters: " + std::to_string(defectIds.size()) + " defects but " +
                                    std::to_string(clusters.size()) + " cluster labels");
    begin();
    try {
        exec("UPDATE defects SET cluster = -1");
        Statement up(db_, "UPDATE defects SET cluster = ? WHERE id = ?");
        if (!up.get()) fail("cannot set clusters");
        for (size_t i = 0; i < defectIds.size(); ++i) {
            sqlite3_reset(up.get());
            up.bind(1, clusters[i]);
            up.bind(2, defectIds[i]);
            if (sqlite3_step(up.get()) != SQLITE_DONE) fail("cannot set clusters");
        }
        commit();
    } catch (...) {
        rollback();
        throw;
    }
}

void DefectLibrary::exportCsv(const std::string& csvPath) {
    Statement q(db_,
                "SELECT s.id, s.path, s.file_sha256, s.verdict, d.defect_id, d.x, d.y, d.x_nm, d.y_nm, d.class, "
                "d.cluster, d.descriptor, d.type_scores FROM defects d JOIN scans s ON s.id = d.scan_id ORDER BY s.id, d.id");
    if (!q.get()) fail("cannot read defects");
    writeAtomically(csvPath, [&](const std::string& tmp) {
        std::ofstream f(tmp);
        if (!f) throw InputError(csvPath, "cannot write");
        f << "scan_id,scan_path,file_sha256,verdict,defect_id,x_px,y_px,x_nm,y_nm,class,cluster,descriptor,likely_type,"
             "likely_type_probability\n";
        int rc;
        char num[64];
        while ((rc = sqlite3_step(q.get())) == SQLITE_ROW) {
            f << sqlite3_column_int64(q.get(), 0) << ',' << csvField(q.text(1)) << ',' << q.text(2) << ','
              << csvField(q.text(3)) << ',' << sqlite3_column_int64(q.get(), 4);
            for (int c = 5; c <= 8; ++c) {
                f << ',';
                if (sqlite3_column_type(q.get(), c) != SQLITE_NULL) {
                    std::snprintf(num, sizeof num, "%.6g", sqlite3_column_double(q.get(), c));
                    f << num;
                }
            }
            f << ',' << csvField(q.text(9)) << ',' << sqlite3_column_int(q.get(), 10) << ',';
            // Descriptor values separated by spaces, in one field.
            const int bytes = sqlite3_column_bytes(q.get(), 11);
            const float* v = static_cast<const float*>(sqlite3_column_blob(q.get(), 11));
            std::vector<float> vals(static_cast<size_t>(bytes) / sizeof(float));
            if (v && !vals.empty()) std::memcpy(vals.data(), v, vals.size() * sizeof(float));
            for (size_t i = 0; i < vals.size(); ++i) {
                std::snprintf(num, sizeof num, "%s%.6g", i ? " " : "", vals[i]);
                f << num;
            }
            // The type network's most probable type, empty where it did not run.
            std::string likely;
            double best = -1;
            for (const auto& [k, v] : typeScoresOf(sqlite3_column_text(q.get(), 12)))
                if (v > best) best = v, likely = k;
            f << ',' << csvField(likely) << ',';
            if (!likely.empty()) {
                std::snprintf(num, sizeof num, "%.4g", best);
                f << num;
            }
            f << '\n';
        }
        if (rc != SQLITE_DONE) fail("cannot read defects");
        f.close();
        if (!f) throw InputError(csvPath, "write failed (disk full?)");
    });
}

LibraryStats DefectLibrary::stats() {
    LibraryStats s;
    {
        Statement q(db_, "SELECT cluster, COUNT(*) FROM defects GROUP BY cluster ORDER BY cluster");
        if (!q.get()) fail("cannot read statistics");
        while (sqlite3_step(q.get()) == SQLITE_ROW) {
            s.perCluster[sqlite3_column_int(q.get(), 0)] = sqlite3_column_int64(q.get(), 1);
            s.defects += sqlite3_column_int64(q.get(), 1);
        }
    }
    {
        Statement q(db_, "SELECT COALESCE(class, ''), COUNT(*) FROM defects GROUP BY 1 ORDER BY 1");
        if (!q.get()) fail("cannot read statistics");
        while (sqlite3_step(q.get()) == SQLITE_ROW) s.perClass[q.text(0)] = sqlite3_column_int64(q.get(), 1);
    }
    {
        Statement q(db_,
                    "SELECT s.id, s.path, s.width * s.pixel_size_x_nm * s.height * s.pixel_size_y_nm, "
                    "(SELECT COUNT(*) FROM defects d WHERE d.scan_id = s.id) FROM scans s ORDER BY s.id");
        if (!q.get()) fail("cannot read statistics");
        while (sqlite3_step(q.get()) == SQLITE_ROW) {
            ScanDensity d;
            d.scanId = sqlite3_column_int64(q.get(), 0);
            d.path = q.text(1);
            d.areaNm2 = sqlite3_column_type(q.get(), 2) == SQLITE_NULL ? 0.0 : sqlite3_column_double(q.get(), 2);
            d.defects = sqlite3_column_int64(q.get(), 3);
            d.defectsPerNm2 = d.areaNm2 > 0 ? static_cast<double>(d.defects) / d.areaNm2 : 0.0;
            s.perScan.push_back(d);
        }
        s.scans = static_cast<int64_t>(s.perScan.size());
    }
    return s;
}

void DefectLibrary::setProperty(const std::string& key, const std::string& json) {
    begin();
    try {
        Statement q(db_, "INSERT OR REPLACE INTO properties(key, value) VALUES (?, ?)");
        if (!q.get()) fail("cannot store " + key);
        q.bind(1, key);
        q.bind(2, json);
        if (sqlite3_step(q.get()) != SQLITE_DONE) fail("cannot store " + key);
        commit();
    } catch (...) {
        rollback();
        throw;
    }
}

std::optional<std::string> DefectLibrary::property(const std::string& key) {
    Statement q(db_, "SELECT value FROM properties WHERE key = ?");
    if (!q.get()) fail("cannot read " + key);
    q.bind(1, key);
    const int rc = sqlite3_step(q.get());
    if (rc == SQLITE_ROW) return q.text(0);
    if (rc != SQLITE_DONE) fail("cannot read " + key);
    return std::nullopt;
}

}  // namespace stmlens
