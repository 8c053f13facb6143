// Base URLs taken apart by parse_base_url (Boost.URL's RFC 3986 grammar):
// what it accepts comes out as it always did (default ports, the path
// prefix without its trailing slashes, an IPv6 address without brackets,
// which the Host header puts back), and what cannot be a provider's address
// is refused with an error that says what to write instead.
#include <catch2/catch.hpp>

#include <string>

#include "adapters/http/http_client.hpp"

using tollgate::adapters::HttpEndpoint;
using tollgate::adapters::parse_base_url;

namespace {

HttpEndpoint accepted(const std::string& url) {
  INFO(url);
  auto e = parse_base_url(url);
  REQUIRE(e.ok());
  return *e;
}

std::string refused(const std::string& url) {
  INFO(url);
  auto e = parse_base_url(url);
  REQUIRE_FALSE(e.ok());
  CHECK_THAT(e.error(), Catch::StartsWith("invalid base_url '" + url + "': "));
  return e.error();
}

}  // namespace

TEST_CASE("base url: scheme, host, default or given port and path prefix, as before") {
  HttpEndpoint e = accepted("https://api.openai.com/v1");
  CHECK(e.tls);
  CHECK(e.host == "api.openai.com");
  CHECK(e.port == "443");
  CHECK(e.path_prefix == "/v1");

  e = accepted("http://127.0.0.1:11434/v1/");
  CHECK_FALSE(e.tls);
  CHECK(e.host == "127.0.0.1");
  CHECK(e.port == "11434");
  CHECK(e.path_prefix == "/v1");

  e = accepted("http://localhost");
  CHECK(e.port == "80");
  CHECK(e.path_prefix.empty());
  CHECK(accepted("http://localhost:/").port == "80");  // an empty port is no port
  CHECK(accepted("https://h:65535").port == "65535");
  CHECK(accepted("https://h:1").port == "1");
}

TEST_CASE("base url: a path prefix is kept as written, less its trailing slashes") {
  const HttpEndpoint e = accepted("https://gw.example.com/openai/deployments/gpt-4o%20mini/v1//");
  CHECK(e.host == "gw.example.com");
  CHECK(e.path_prefix == "/openai/deployments/gpt-4o%20mini/v1");
}

TEST_CASE("base url: an IPv6 address without its brackets, port or not") {
  HttpEndpoint e = accepted("http://[::1]:8080/v1");
  CHECK(e.host == "::1");
  CHECK(e.port == "8080");
  CHECK(e.path_prefix == "/v1");
  e = accepted("https://[2001:db8::1]/");
  CHECK(e.host == "2001:db8::1");
  CHECK(e.port == "443");
  CHECK(e.path_prefix.empty());
  CHECK_THAT(refused("http://[::1/v1"), Catch::Contains("not a URL"));
}

TEST_CASE("base url: a port outside 1 to 65535 is refused") {
  CHECK_THAT(refused("http://127.0.0.1:99999/v1"),
             Catch::Contains("port 99999 is out of range; give 1 to 65535"));
  CHECK_THAT(refused("http://127.0.0.1:0/v1"), Catch::Contains("port 0 is out of range"));
  CHECK_THAT(refused("https://h:65536"), Catch::Contains("port 65536 is out of range"));
  CHECK_THAT(refused("https://h:123456789012345678901234567890"), Catch::Contains("out of range"));
  CHECK_THAT(refused("https://h:80a/v1"), Catch::Contains("not a URL"));
}

TEST_CASE("base url: other schemes, user info, query, fragment and no host are refused") {
  for (const char* url :
       {"ftp://files.example.com/v1", "ws://h/v1", "api.openai.com/v1", "http:/h/v1", "http:h"}) {
    CHECK_THAT(refused(url), Catch::Contains("must start with http:// or https://"));
  }
  CHECK_THAT(refused("https://user:secret@api.example.com/v1"),
             Catch::Contains("user info (user:password@)"));
  CHECK_THAT(refused("https://@api.example.com/v1"), Catch::Contains("user info"));
  CHECK_THAT(refused("https://h/v1?key=1"), Catch::Contains("a query ('?') or fragment ('#')"));
  CHECK_THAT(refused("https://h/v1#top"), Catch::Contains("a query ('?') or fragment ('#')"));
  CHECK_THAT(refused("http://:8080/v1"), Catch::Contains("no host"));
  CHECK_THAT(refused("https:///v1"), Catch::Contains("no host"));
  CHECK_THAT(refused("http://h/v1 HTTP/1.0"), Catch::Contains("spaces and control characters"));
  CHECK_THAT(refused("http://h/v1\r\nX-Admin: 1"), Catch::Contains("spaces and control characters"));
}
