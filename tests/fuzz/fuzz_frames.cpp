// libFuzzer target: the tcp kind's stream splitters (lines, 4-byte
// length-prefixed JSON frames) fed arbitrary bytes in arbitrary pieces,
// and each message answered by a dialogue with regex and JSON rules.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "runtime/json_source.hpp"
#include "services/tcp/protocol.hpp"

namespace {
const char* kLineRules = R"({"rules": [
  {"expect": "^GET (\\w+)$", "respond": "VALUE $1"},
  {"expect": "^BYE$", "respond": ["BYE", "!"], "close": true}],
  "otherwise": {"respond": "ERR"}})";
const char* kFrameRules = R"({"rules": [
  {"expect": {"op": "add"}, "respond": {"sum": "$.a", "echo": "$"}},
  {"expect": {"op": "bye"}, "respond": [{"bye": true}], "close": true}],
  "otherwise": {"respond": {"error": "unknown"}}})";
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace wirelab::tcp_proto;
    static auto ldoc = wirelab::JsonDoc::parse(kLineRules, "lines.json");
    static auto fdoc = wirelab::JsonDoc::parse(kFrameRules, "frames.json");
    static wirelab::Spec spec_l(ldoc, ldoc->root(), "", "service");
    static Dialogue lines_d(spec_l, Kind::lines);
    static wirelab::Spec spec_f(fdoc, fdoc->root(), "", "service");
    static Dialogue frames_d(spec_f, Kind::frames);
    std::string_view in(reinterpret_cast<const char*>(data), size);
    LineSplitter lines(4096, size && data[0] & 1);
    FrameSplitter frames(1 << 16);
    std::size_t cut = size ? data[0] % 11 + 1 : 1;
    for (std::size_t i = 0; i < in.size(); i += cut) {
        auto piece = in.substr(i, cut);
        if (!lines.fatal())
            for (const auto& m : lines.feed(piece)) (void)lines_d.answer(m);
        if (!frames.fatal())
            for (const auto& m : frames.feed(piece)) {
                auto r = frames_d.answer(m);
                for (const auto& out : r.messages) (void)encode_frame(out);
            }
    }
    (void)valid_utf8(in);
    return 0;
}
