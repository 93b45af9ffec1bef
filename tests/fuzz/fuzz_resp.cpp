// libFuzzer target: the RESP parser fed arbitrary bytes in arbitrary
// pieces, and every command it yields run by the nosql engine. Nothing may
// crash, hang or grow without bound; the engine's replies must encode.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "services/nosql/engine.hpp"
#include "services/nosql/resp.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace wirelab::resp;
    std::string_view in(reinterpret_cast<const char*>(data), size);
    Parser p(1 << 16, 1024);
    Engine e;
    ClientState c;
    std::size_t cut = size ? data[0] % 7 + 1 : 1;  // the first byte picks the read size
    std::int64_t now = 1000;
    for (std::size_t i = 0; i < in.size() && !p.fatal(); i += cut) {
        for (const auto& cmd : p.feed(in.substr(i, cut))) {
            Reply r = e.execute(c, cmd, now += 7);
            (void)r.encode(c.protocol);
            (void)r.summary();
            if (c.quit) return 0;
        }
    }
    for (int d = 0; d < Engine::databases; ++d) (void)e.keys(d, now);
    return 0;
}
