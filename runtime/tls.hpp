// The run's certificate authority and the server certificates TLS services
// present. The CA (EC P-256) is made on first use: its certificate is
// `ca.pem` in the run directory (the learner's program gets its path in
// WIRELAB_CA_FILE), its key stays in the run's state folder. Variants a lab
// may ask for: "valid" (signed by the CA, for localhost and 127.0.0.1),
// "expired", "wrong-host" (for wrong.example.org only) and "self-signed"
// (not signed by the CA).
#pragma once
#include <filesystem>
#include <map>
#include <memory>
#include <string>

namespace boost::asio::ssl {
class context;
}

namespace wirelab::tls {

/// The variants a lab's "tls" may name ("valid" for true).
bool known_variant(const std::string& variant);

class Authority {
public:
    /// `run_dir` gets ca.pem, `state_dir` the CA's key (a replica of a
    /// service finds them there and uses the same CA).
    Authority(std::filesystem::path run_dir, std::filesystem::path state_dir);
    ~Authority();
    Authority(const Authority&) = delete;

    /// A TLS server context presenting a certificate of `variant` (made
    /// once per variant and run). Throws std::runtime_error.
    std::shared_ptr<boost::asio::ssl::context> server_context(const std::string& variant);
    /// ca.pem's path; "" until a service used TLS.
    std::string ca_file() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace wirelab::tls
