#include "runtime/tls.hpp"

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <boost/asio/ssl/context.hpp>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace wirelab::tls {

namespace {

struct KeyFree {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CertFree {
    void operator()(X509* x) const { X509_free(x); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;
using Cert = std::unique_ptr<X509, CertFree>;

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error("TLS: " + what); }

Key new_key() {
    Key k(EVP_EC_gen("P-256"));
    if (!k) fail("cannot generate a key");
    return k;
}

void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (!ext) fail(std::string("cannot make the extension ") + value);
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
}

/// A certificate for `key`, named `cn`, valid from `from_s` to `to_s`
/// seconds from now, signed by `issuer_key` (its certificate `issuer`, or
/// none: self-signed).
Cert make_cert(EVP_PKEY* key, const std::string& cn, long from_s, long to_s, X509* issuer, EVP_PKEY* issuer_key,
               bool ca, const std::string& san, long serial) {
    Cert x(X509_new());
    X509_set_version(x.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x.get()), serial);
    X509_gmtime_adj(X509_getm_notBefore(x.get()), from_s);
    X509_gmtime_adj(X509_getm_notAfter(x.get()), to_s);
    X509_set_pubkey(x.get(), key);
    X509_NAME* name = X509_get_subject_name(x.get());
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("wirelab"), -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
    X509* signer = issuer ? issuer : x.get();
    X509_set_issuer_name(x.get(), X509_get_subject_name(signer));
    add_ext(x.get(), signer, NID_subject_key_identifier, "hash");
    add_ext(x.get(), signer, NID_authority_key_identifier, "keyid:always");
    if (ca) {
        add_ext(x.get(), signer, NID_basic_constraints, "critical,CA:TRUE,pathlen:0");
        add_ext(x.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        add_ext(x.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
        add_ext(x.get(), signer, NID_key_usage, "critical,digitalSignature");
        add_ext(x.get(), signer, NID_ext_key_usage, "serverAuth");
        add_ext(x.get(), signer, NID_subject_alt_name, san.c_str());
    }
    if (!X509_sign(x.get(), issuer_key ? issuer_key : key, EVP_sha256())) fail("cannot sign a certificate");
    return x;
}

std::string pem(X509* x) {
    BIO* b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, x);
    char* data = nullptr;
    long n = BIO_get_mem_data(b, &data);
    std::string out(data, static_cast<std::size_t>(n));
    BIO_free(b);
    return out;
}

std::string pem(EVP_PKEY* k) {
    BIO* b = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(b, k, nullptr, nullptr, 0, nullptr, nullptr);
    char* data = nullptr;
    long n = BIO_get_mem_data(b, &data);
    std::string out(data, static_cast<std::size_t>(n));
    BIO_free(b);
    return out;
}

std::string slurp(const std::filesystem::path& p) {
    std::ifstream f(p, std::ios::binary);
    std::ostringstream s;
    s << f.rdbuf();
    return s.str();
}

void write_file(const std::filesystem::path& p, const std::string& text, mode_t mode) {
    std::filesystem::path tmp = p.string() + ".tmp";
    {
        std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
        f << text;
        if (!f) fail("cannot write " + p.string());
    }
    ::chmod(tmp.c_str(), mode);
    std::filesystem::rename(tmp, p);
}

}  // namespace

bool known_variant(const std::string& v) {
    return v == "valid" || v == "expired" || v == "wrong-host" || v == "self-signed";
}

struct Authority::Impl {
    std::filesystem::path run_dir, state_dir;
    Key ca_key;
    Cert ca_cert;
    std::map<std::string, std::shared_ptr<boost::asio::ssl::context>> contexts;
    long serial = 2;

    void ensure_ca() {
        if (ca_cert) return;
        auto key_file = state_dir / "ca-key.pem", cert_file = run_dir / "ca.pem";
        if (std::filesystem::exists(key_file) && std::filesystem::exists(cert_file)) {  // a replica: the run's CA
            std::string k = slurp(key_file), c = slurp(cert_file);
            BIO* kb = BIO_new_mem_buf(k.data(), static_cast<int>(k.size()));
            BIO* cb = BIO_new_mem_buf(c.data(), static_cast<int>(c.size()));
            ca_key.reset(PEM_read_bio_PrivateKey(kb, nullptr, nullptr, nullptr));
            ca_cert.reset(PEM_read_bio_X509(cb, nullptr, nullptr, nullptr));
            BIO_free(kb);
            BIO_free(cb);
            if (ca_key && ca_cert) {
                serial = 1000 + static_cast<long>(::getpid() % 100000);
                return;
            }
        }
        ca_key = new_key();
        ca_cert = make_cert(ca_key.get(), "wirelab run CA", -3600, 86400L * 30, nullptr, nullptr, true, "", 1);
        std::filesystem::create_directories(state_dir);
        write_file(key_file, pem(ca_key.get()), 0600);
        write_file(cert_file, pem(ca_cert.get()), 0644);
    }
};

Authority::Authority(std::filesystem::path run_dir, std::filesystem::path state_dir) : impl_(std::make_unique<Impl>()) {
    impl_->run_dir = std::move(run_dir);
    impl_->state_dir = std::move(state_dir);
}
Authority::~Authority() = default;

std::string Authority::ca_file() const {
    return impl_->ca_cert ? std::filesystem::absolute(impl_->run_dir / "ca.pem").string() : std::string();
}

std::shared_ptr<boost::asio::ssl::context> Authority::server_context(const std::string& variant) {
    if (auto it = impl_->contexts.find(variant); it != impl_->contexts.end()) return it->second;
    if (!known_variant(variant)) fail("unknown certificate variant \"" + variant + "\"");
    impl_->ensure_ca();
    Key key = new_key();
    const std::string local = "DNS:localhost,IP:127.0.0.1,IP:::1";
    Cert cert;
    long serial = impl_->serial++;
    if (variant == "valid")
        cert = make_cert(key.get(), "localhost", -3600, 86400L * 30, impl_->ca_cert.get(), impl_->ca_key.get(), false, local, serial);
    else if (variant == "expired")
        cert = make_cert(key.get(), "localhost", -86400L * 60, -86400L, impl_->ca_cert.get(), impl_->ca_key.get(), false, local, serial);
    else if (variant == "wrong-host")
        cert = make_cert(key.get(), "wrong.example.org", -3600, 86400L * 30, impl_->ca_cert.get(), impl_->ca_key.get(), false,
                         "DNS:wrong.example.org", serial);
    else
        cert = make_cert(key.get(), "localhost", -3600, 86400L * 30, nullptr, nullptr, false, local, serial);
    auto ctx = std::make_shared<boost::asio::ssl::context>(boost::asio::ssl::context::tls_server);
    ctx->set_options(boost::asio::ssl::context::default_workarounds | boost::asio::ssl::context::no_sslv2 |
                     boost::asio::ssl::context::no_sslv3 | boost::asio::ssl::context::no_tlsv1 |
                     boost::asio::ssl::context::no_tlsv1_1);
    std::string cert_pem = pem(cert.get()), key_pem = pem(key.get());
    ctx->use_certificate_chain(boost::asio::buffer(cert_pem));
    ctx->use_private_key(boost::asio::buffer(key_pem), boost::asio::ssl::context::pem);
    impl_->contexts[variant] = ctx;
    return ctx;
}

}  // namespace wirelab::tls
