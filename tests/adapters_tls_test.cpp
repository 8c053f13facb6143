// TLS: a server whose certificate a private CA signed is refused by
// default, accepted once that CA is configured, and refused again when the
// certificate names another host. Certificates are made at test time.
#include <atomic>
#include <filesystem>
#include <fstream>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tests/adapters_support.hpp"

using namespace tollgate;
using namespace tollgate::test;
using adapters::FailureKind;

namespace {

struct Key {
  EVP_PKEY* p = EVP_EC_gen("P-256");
  ~Key() { EVP_PKEY_free(p); }
};
struct Cert {
  X509* x = X509_new();
  ~Cert() { X509_free(x); }
};

void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  REQUIRE(ext != nullptr);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// Signs `cert` for `key` with issuer (self when null); `san` null: a CA.
void make(Cert& cert, Key& key, Cert* issuer, Key& signer, const char* cn, const char* san) {
  static std::atomic<long> serial{1};
  X509_set_version(cert.x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.x), serial++);
  X509_gmtime_adj(X509_getm_notBefore(cert.x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.x), 3600L * 24 * 365 * 50);
  X509_set_pubkey(cert.x, key.p);
  X509_NAME* name = X509_get_subject_name(cert.x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
  X509* issuer_x = issuer ? issuer->x : cert.x;
  X509_set_issuer_name(cert.x, X509_get_subject_name(issuer_x));
  if (san == nullptr) {
    add_ext(cert.x, issuer_x, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(cert.x, issuer_x, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_ext(cert.x, issuer_x, NID_basic_constraints, "critical,CA:FALSE");
    add_ext(cert.x, issuer_x, NID_subject_alt_name, san);
    add_ext(cert.x, issuer_x, NID_ext_key_usage, "serverAuth");
  }
  REQUIRE(X509_sign(cert.x, signer.p, EVP_sha256()) > 0);
}

template <typename Write>
std::string pem(Write write) {
  BIO* bio = BIO_new(BIO_s_mem());
  REQUIRE(write(bio) == 1);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  return out;
}

struct Pki {
  Key ca_key, server_key;
  Cert ca, server;
  std::string ca_pem, server_pem, key_pem;
  explicit Pki(const char* san) {
    make(ca, ca_key, nullptr, ca_key, "tollgate test CA", nullptr);
    make(server, server_key, &ca, ca_key, "tollgate test server", san);
    ca_pem = pem([&](BIO* b) { return PEM_write_bio_X509(b, ca.x); });
    server_pem = pem([&](BIO* b) { return PEM_write_bio_X509(b, server.x); });
    key_pem = pem([&](BIO* b) { return PEM_write_bio_PrivateKey(b, server_key.p, nullptr, nullptr, 0, nullptr, nullptr); });
  }
};

struct TempFile {
  std::filesystem::path path;
  explicit TempFile(const std::string& text) {
    static std::atomic<int> n{0};
    path = std::filesystem::temp_directory_path() /
           ("tollgate-test-ca-" + std::to_string(::getpid()) + "-" + std::to_string(n++) + ".pem");
    std::ofstream(path) << text;
  }
  ~TempFile() { std::filesystem::remove(path); }
};

std::unique_ptr<adapters::MockServer> tls_mock(const Pki& pki) {
  adapters::MockServerOptions o;
  o.tls_cert_pem = pki.server_pem;
  o.tls_key_pem = pki.key_pem;
  return start_mock(o);
}

}  // namespace

TEST_CASE("tls: a private CA's server is refused by default and accepted with its CA") {
  Pki pki("IP:127.0.0.1,DNS:localhost");
  IoThreads io;
  auto mock = tls_mock(pki);
  REQUIRE(mock->base_url().starts_with("https://"));

  const auto refused = failed(call(*make(io.executor(), mock_config(*mock)), chat_body(), "m"));
  CHECK(refused.kind == FailureKind::config);
  CHECK(refused.message.find("certificate verify failed") != std::string::npos);
  CHECK(refused.message.find("ca_file") != std::string::npos);
  CHECK(mock->total_calls() == 0);

  TempFile ca(pki.ca_pem);
  auto trusted = mock_config(*mock);
  trusted.connection.ca_file = ca.path.string();
  auto p = make(io.executor(), trusted);
  Deltas deltas;
  const auto a = ok(call(*p, chat_body(), "m", true, deltas.fn()));
  CHECK(content_of(a.body) == deltas.text());
  ok(call(*p, chat_body(), "m"));  // over the kept-alive TLS connection
  CHECK(p->open_connections() == 1);

  auto by_name = trusted;
  by_name.base_url = "https://localhost:" + std::to_string(mock->port()) + "/v1";
  ok(call(*make(io.executor(), by_name), chat_body(), "m"));

  auto unchecked = mock_config(*mock);
  unchecked.connection.verify_tls = false;
  ok(call(*make(io.executor(), unchecked), chat_body(), "m"));

  auto missing = mock_config(*mock);
  missing.connection.ca_file = "/nonexistent/ca.pem";
  auto bad = adapters::make_provider(io.executor(), missing);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().find("/nonexistent/ca.pem") != std::string::npos);
}

TEST_CASE("tls: a certificate for another host name is refused even from a trusted CA") {
  Pki pki("DNS:other.example");
  IoThreads io;
  auto mock = tls_mock(pki);
  TempFile ca(pki.ca_pem);
  auto c = mock_config(*mock);
  c.connection.ca_file = ca.path.string();
  const auto f = failed(call(*make(io.executor(), c), chat_body(), "m"));
  CHECK(f.kind == FailureKind::config);
  CHECK(f.message.find("certificate verify failed") != std::string::npos);
}
