#include "runtime/run_bundle.hpp"

#include <unistd.h>
#include <zlib.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <stdexcept>

#include "runtime/errors.hpp"
#include "runtime/journal_reader.hpp"
#include "runtime/sqlite.hpp"

namespace wirelab {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kMagic = "wirelab-run 1\n";

std::string read_file(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    if (!f) throw EnvError("cannot read " + p.string(), "check the run directory's permissions");
    std::ostringstream s;
    s << f.rdbuf();
    return s.str();
}

std::string gzip(const std::string& raw) {
    z_stream z{};
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        throw std::runtime_error("zlib: deflateInit2 failed");
    std::string out;
    out.resize(deflateBound(&z, raw.size()));
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
    z.avail_in = static_cast<uInt>(raw.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    int rc = deflate(&z, Z_FINISH);
    out.resize(z.total_out);
    deflateEnd(&z);
    if (rc != Z_STREAM_END) throw std::runtime_error("zlib: deflate did not finish");
    return out;
}

std::string gunzip(const std::string& packed, std::size_t cap) {
    z_stream z{};
    if (inflateInit2(&z, 15 + 16) != Z_OK) throw std::runtime_error("zlib: inflateInit2 failed");
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(packed.data()));
    z.avail_in = static_cast<uInt>(packed.size());
    std::string out;
    char buf[64 * 1024];
    int rc = Z_OK;
    while (rc != Z_STREAM_END) {
        z.next_out = reinterpret_cast<Bytef*>(buf);
        z.avail_out = sizeof buf;
        rc = inflate(&z, Z_NO_FLUSH);
        if (rc != Z_OK && rc != Z_STREAM_END) {
            inflateEnd(&z);
            throw std::invalid_argument("the run bundle is not valid gzip (" +
                                        std::string(rc == Z_BUF_ERROR ? "truncated" : "corrupt") + ")");
        }
        out.append(buf, sizeof buf - z.avail_out);
        if (out.size() > cap + kMagic.size() + 4096) {
            inflateEnd(&z);
            throw std::invalid_argument("the run unpacks to more than " + std::to_string(cap >> 20) + " MiB");
        }
    }
    inflateEnd(&z);
    return out;
}

bool safe_name(const std::string& n) {
    static const std::regex ok(R"([A-Za-z0-9._@-]+(/[A-Za-z0-9._@-]+)*)");
    if (!std::regex_match(n, ok)) return false;
    for (std::size_t start = 0; start <= n.size();) {
        auto end = n.find('/', start);
        if (end == std::string::npos) end = n.size();
        std::string part = n.substr(start, end - start);
        if (part == "." || part == "..") return false;
        start = end + 1;
    }
    return true;
}

}  // namespace

std::string pack_run(const fs::path& run_dir) {
    fs::path journal = run_dir / "journal.db";
    if (!fs::exists(journal)) throw EnvError("no journal at " + journal.string(), "give a finished run directory");
    std::vector<std::string> names{"journal.db"};
    {
        JournalReader r(journal);
        auto files = nlohmann::json::parse(r.meta("state_files").empty() ? "{}" : r.meta("state_files"), nullptr, false);
        if (files.is_object())
            for (auto& [k, v] : files.items())
                if (v.is_string() && safe_name(v.get<std::string>()) && fs::is_regular_file(run_dir / v.get<std::string>()))
                    names.push_back(v.get<std::string>());
    }
    std::string raw(kMagic);
    fs::path scratch = fs::temp_directory_path() / ("wirelab-pack-" + std::to_string(::getpid()) + ".db");
    for (const auto& n : names) {
        // a database another connection may still hold (WAL, a live
        // session) is copied through SQLite's backup API, whole
        std::string bytes = read_file(run_dir / n);
        if (bytes.compare(0, 15, "SQLite format 3") == 0) {
            sql::backup(run_dir / n, scratch);
            bytes = read_file(scratch);
            std::error_code ec;
            fs::remove(scratch, ec);
        }
        raw += "F " + n + "\n" + std::to_string(bytes.size()) + "\n";
        raw += bytes;
    }
    raw += "E\n";
    return gzip(raw);
}

void unpack_run(const std::string& bundle, const fs::path& dir, const UnpackLimits& limits) {
    std::string raw = gunzip(bundle, limits.max_bytes);
    if (raw.compare(0, kMagic.size(), kMagic) != 0)
        throw std::invalid_argument("the upload is not a wirelab run bundle (it must come from `wirelab check --classroom`)");
    std::size_t pos = kMagic.size(), files = 0, total = 0;
    auto line = [&]() {
        auto nl = raw.find('\n', pos);
        if (nl == std::string::npos || nl - pos > 4096) throw std::invalid_argument("the run bundle is truncated");
        std::string l = raw.substr(pos, nl - pos);
        pos = nl + 1;
        return l;
    };
    fs::create_directories(dir);
    bool journal = false;
    for (;;) {
        std::string head = line();
        if (head == "E") break;
        if (head.rfind("F ", 0) != 0) throw std::invalid_argument("the run bundle is malformed (expected a file entry)");
        std::string name = head.substr(2);
        if (!safe_name(name)) throw std::invalid_argument("the run bundle names a file outside its folder: " + name);
        std::string size_text = line();
        if (size_text.empty() || size_text.size() > 12 || size_text.find_first_not_of("0123456789") != std::string::npos)
            throw std::invalid_argument("the run bundle is malformed (bad size for " + name + ")");
        std::size_t size = std::stoull(size_text);
        if (size > raw.size() - pos) throw std::invalid_argument("the run bundle is truncated in " + name);
        if (++files > limits.max_files) throw std::invalid_argument("the run bundle has too many files");
        total += size;
        if (total > limits.max_bytes) throw std::invalid_argument("the run bundle is too large");
        fs::path out = dir / name;
        fs::create_directories(out.parent_path());
        std::ofstream f(out, std::ios::binary | std::ios::trunc);
        f.write(raw.data() + pos, static_cast<std::streamsize>(size));
        if (!f) throw std::runtime_error("cannot write " + out.string());
        pos += size;
        journal = journal || name == "journal.db";
    }
    if (!journal) throw std::invalid_argument("the run bundle has no journal.db");
}

}  // namespace wirelab
