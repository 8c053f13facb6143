// The bytes the HTTP client puts on the wire, read by a one-shot server on
// loopback that keeps them: the request line, each header once (configured
// ones replacing ours), the body as encoded; and the configurations that
// would break a request, refused when the provider is made.
#include <algorithm>
#include <atomic>
#include <cctype>
#include <mutex>
#include <string_view>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>

#include "tests/adapters_support.hpp"

using namespace tollgate;
using namespace tollgate::test;
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// Keys in an order a re-serialized DOM would not keep (it sorts them).
constexpr std::string_view kAnswer =
    R"({"id":"chatcmpl-wire","object":"chat.completion","created":1,"model":"m",)"
    R"("choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],)"
    R"("usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}})";

const std::string kOkAnswer = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                              std::to_string(kAnswer.size()) + "\r\n\r\n" + std::string(kAnswer);

// Accepts one connection, keeps the raw request (head and body) and answers
// it with fixed bytes: by default, a completion.
class RecordingServer {
 public:
  explicit RecordingServer(std::string answer = kOkAnswer)
      : answer_(std::move(answer)), acceptor_(ioc_, {asio::ip::make_address("127.0.0.1"), 0}) {
    thread_ = std::thread([this] { serve(); });
  }
  ~RecordingServer() {
    if (!accepted_) {  // nobody came: a connection of our own ends accept()
      boost::system::error_code ec;
      tcp::socket s(ioc_);
      s.connect(acceptor_.local_endpoint(), ec);
    }
    thread_.join();
  }

  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port()) + "/v1"; }
  // Complete once the client has its answer (the server writes that after).
  std::string request() const {
    std::lock_guard lock(mu_);  // the socket orders it, but TSan does not see through one
    return raw_;
  }

 private:
  void serve() {
    boost::system::error_code ec;
    tcp::socket s(ioc_);
    acceptor_.accept(s, ec);
    accepted_ = true;
    if (ec) return;
    std::string raw;
    const std::size_t head_end = asio::read_until(s, asio::dynamic_buffer(raw), "\r\n\r\n", ec);
    if (ec) return;
    const std::string head = lower(raw.substr(0, head_end));
    const auto at = head.find("\r\ncontent-length: ");
    if (at == std::string::npos) return;
    const std::size_t length = std::stoul(head.substr(at + 18));
    if (raw.size() < head_end + length) {
      std::string rest(head_end + length - raw.size(), '\0');
      asio::read(s, asio::buffer(rest), ec);
      if (ec) return;
      raw += rest;
    }
    {
      std::lock_guard lock(mu_);
      raw_ = raw;
    }
    asio::write(s, asio::buffer(answer_), ec);
  }

  const std::string answer_;
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  std::atomic<bool> accepted_{false};
  mutable std::mutex mu_;
  std::string raw_;
  std::thread thread_;
};

// Header lines of a raw request, names lowered: "name: value" each.
std::vector<std::string> header_lines(const std::string& raw) {
  std::vector<std::string> out;
  const std::string head = raw.substr(0, raw.find("\r\n\r\n"));
  std::size_t start = head.find("\r\n");
  while (start != std::string::npos) {
    const std::size_t end = head.find("\r\n", start + 2);
    std::string line = head.substr(start + 2, end == std::string::npos ? std::string::npos : end - start - 2);
    const auto colon = line.find(':');
    out.push_back(lower(line.substr(0, colon)) + line.substr(colon));
    start = end;
  }
  return out;
}

}  // namespace

TEST_CASE("http client: the request on the wire has each header once and the body as encoded and the answer is kept as sent") {
  IoThreads io;
  RecordingServer server;
  adapters::ProviderConfig c;
  c.name = "wire";
  c.base_url = server.base_url();
  c.api_key = "sk-wire-test";
  c.headers = {{"User-Agent", "my-service/2"}, {"x-extra", "a b\tc"}};
  const auto answer = ok(call(*make(io.executor(), c), chat_body("on the wire"), "m"));
  CHECK(answer.body_text == kAnswer);  // kept byte for byte, for a gateway to pass on
  CHECK(answer.usage.output_tokens == 1);

  const std::string raw = server.request();
  REQUIRE(raw.starts_with("POST /v1/chat/completions HTTP/1.1\r\n"));
  const auto lines = header_lines(raw);
  auto count = [&](std::string_view name) {
    return std::count_if(lines.begin(), lines.end(), [&](const std::string& l) {
      return l.starts_with(std::string(name) + ":");
    });
  };
  for (const char* name : {"host", "user-agent", "content-type", "accept", "authorization", "x-extra",
                           "content-length"}) {
    INFO(name);
    CHECK(count(name) == 1);
  }
  auto has = [&](const std::string& line) { return std::find(lines.begin(), lines.end(), line) != lines.end(); };
  CHECK(has("host: 127.0.0.1:" + std::to_string(server.port())));
  CHECK(has("user-agent: my-service/2"));  // configured, in place of ours
  CHECK(has("authorization: Bearer sk-wire-test"));
  CHECK(has("x-extra: a b\tc"));
  CHECK(has("content-type: application/json"));

  const std::string body = raw.substr(raw.find("\r\n\r\n") + 4);
  CHECK(has("content-length: " + std::to_string(body.size())));
  const json sent = json::parse(body);
  CHECK(sent["model"] == "m");
  CHECK(sent["messages"][0]["content"] == "on the wire");
}

TEST_CASE("http client: headers and base URLs that would break a request are refused up front") {
  IoThreads io;
  auto refused = [&](adapters::ProviderConfig c) {
    c.name = "bad";
    if (c.base_url.empty()) c.base_url = "http://127.0.0.1:1/v1";
    auto p = adapters::make_provider(io.executor(), std::move(c));
    REQUIRE_FALSE(p.ok());
    return p.error();
  };

  adapters::ProviderConfig newline;
  newline.api_key = "sk-secret-with-newline\n";
  const std::string key_error = refused(newline);
  CHECK(key_error.find("'Authorization'") != std::string::npos);
  CHECK(key_error.find("line break") != std::string::npos);
  CHECK(key_error.find("sk-secret") == std::string::npos);  // a secret is named, never shown

  adapters::ProviderConfig injected;
  injected.headers = {{"x-team", "a\r\nx-admin: yes"}};
  CHECK(refused(injected).find("'x-team'") != std::string::npos);

  adapters::ProviderConfig bad_name;
  bad_name.headers = {{"x team", "a"}};
  CHECK(refused(bad_name).find("not a valid HTTP field name") != std::string::npos);

  adapters::ProviderConfig length;
  length.headers = {{"Content-Length", "5"}};
  CHECK(refused(length).find("sets it from the body") != std::string::npos);

  adapters::ProviderConfig spaced;
  spaced.base_url = "http://127.0.0.1:1/v1 HTTP/1.0";
  CHECK(refused(spaced).find("spaces and control characters") != std::string::npos);
}

TEST_CASE("http client: a Retry-After date is read on the UTC calendar, and one it lacks is no date") {
  IoThreads io;
  auto retry_after = [&](const std::string& date) {
    const std::string body = R"({"error":{"message":"slow down","type":"rate_limit_error"}})";
    RecordingServer server("HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nRetry-After: " + date +
                           "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
    adapters::ProviderConfig c;
    c.name = "limited";
    c.base_url = server.base_url();
    const auto f = failed(call(*make(io.executor(), c), chat_body(), "m"));
    CHECK(f.http_status == 429);
    return f.retry_after;
  };
  // 2100-03-01 is decades away, 1994 long past.
  const auto far = retry_after("Mon, 01 Mar 2100 00:00:00 GMT");
  REQUIRE(far.has_value());
  CHECK(*far > std::chrono::hours(24 * 365 * 70));
  CHECK(retry_after("Sun, 06 Nov 1994 08:49:37 GMT") == std::chrono::milliseconds(0));
  // Once rolled into 2100-03-03 and waited for.
  CHECK_FALSE(retry_after("Wed, 31 Feb 2100 00:00:00 GMT").has_value());
}
