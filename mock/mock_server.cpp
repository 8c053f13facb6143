// The mock provider's server: Beast over Asio, one coroutine and one strand
// per connection (none with one I/O thread: serial_executor.hpp), HTTP/1.1
// keep-alive. Answers are pre-rendered strings
// (see mock_script.cpp) written raw, so a load test measures the client or
// the gateway in front, not the mock.
#include "mock/mock_server.hpp"
#include "adapters/http/serial_executor.hpp"
#include "adapters/http/tcp_listener.hpp"

#include <array>
#include <atomic>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

// GCC 12 with sanitizers reports -Wmaybe-uninitialized inside Beast's parser
// (boost::optional in basic_parser); a false positive in a system header.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#pragma GCC diagnostic pop

namespace tollgate::adapters {

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using boost::system::error_code;
using namespace std::chrono_literals;

constexpr auto kNoThrow = net::as_tuple(net::use_awaitable);
constexpr std::size_t kMaxRequestBytes = 32u << 20;
constexpr auto kKeepAliveIdle = 120s;    // an idle client connection is closed after this
constexpr auto kWriteTimeout = 30s;      // a client that stops reading is dropped
constexpr auto kHangLimit = 10min;       // `hang` still ends, in case the client never leaves

// What to send for one request.
struct Plan {
  int status = 200;
  bool sse = false;
  std::string body;                 // JSON answer or error body
  std::vector<std::string> events;  // SSE events
  std::size_t first_piece = 0;      // events before it go out at once
  std::size_t pieces = 0;           // paced events from first_piece on
  std::size_t cut_after = SIZE_MAX; // truncate: events (or body bytes) sent before the cut
  std::chrono::milliseconds latency{0};
  std::chrono::nanoseconds gap{0};  // between pieces
  MockFault action = MockFault::none;  // hang / reset
  std::chrono::seconds retry_after{0};
};

// A chat.completion whose "choices" holds 100,000 nested arrays: valid JSON
// that a reader without a depth bound would build and then walk recursively.
std::string deep_json() {
  constexpr std::size_t kLevels = 100'000;
  return "{\"id\": \"deep\", \"object\": \"chat.completion\", \"choices\": " + std::string(kLevels, '[') +
         std::string(kLevels, ']') + "}";
}

std::string chunk_frame(std::string_view data) {
  char size[20];
  const int n = std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  std::string out;
  out.reserve(static_cast<std::size_t>(n) + data.size() + 2);
  out.append(size, static_cast<std::size_t>(n));
  out.append(data);
  out.append("\r\n");
  return out;
}

class MockServerImpl final : public MockServer {
 public:
  explicit MockServerImpl(MockServerOptions o)
      : opts_(std::move(o)),
        ioc_(std::make_unique<net::io_context>(static_cast<int>(std::max(1u, opts_.threads)))),
        default_(std::make_shared<const MockBehavior>(opts_.default_behavior)) {
    // As fast as it can be: a load test's baseline must not hide a gateway's cost.
    if (opts_.threads <= 1) mark_run_by_one_thread(*ioc_);
  }

  ~MockServerImpl() override {
    ioc_->stop();
    for (auto& t : threads_) t.join();
    acceptor_.reset();
    ioc_.reset();  // destroys the suspended sessions and their sockets
  }

  Expected<void> listen() {
    if (!opts_.tls_cert_pem.empty() || !opts_.tls_key_pem.empty()) {
      tls_.emplace(ssl::context::tls_server);
      error_code ec;
      tls_->use_certificate_chain(net::buffer(opts_.tls_cert_pem), ec);
      if (!ec) tls_->use_private_key(net::buffer(opts_.tls_key_pem), ssl::context::pem, ec);
      if (ec) return Unexpected("mock: cannot load TLS certificate: " + ec.message());
    }
    auto acceptor = open_tcp_listener(serial_executor(ioc_->get_executor()), opts_.address, opts_.port, "mock");
    if (!acceptor) return Unexpected(acceptor.error());
    acceptor_.emplace(std::move(*acceptor));
    port_ = acceptor_->local_endpoint().port();
    net::co_spawn(acceptor_->get_executor(), accept_loop(), net::detached);
    for (unsigned i = 0; i < std::max(1u, opts_.threads); ++i) {
      threads_.emplace_back([this] { ioc_->run(); });
    }
    return {};
  }

  uint16_t port() const override { return port_; }
  std::string base_url() const override {
    return std::string(tls_ ? "https://" : "http://") + opts_.address + ":" +
           std::to_string(port_) + "/v1";
  }

  void script(std::string model, MockBehavior behavior) override {
    std::lock_guard lock(mu_);
    auto& m = models_[std::move(model)];
    m.behavior = std::make_shared<const MockBehavior>(std::move(behavior));
    m.fault_base = m.calls;
  }
  void set_default(MockBehavior behavior) override {
    std::lock_guard lock(mu_);
    default_ = std::make_shared<const MockBehavior>(std::move(behavior));
  }
  int64_t calls(std::string_view model) const override {
    std::lock_guard lock(mu_);
    auto it = models_.find(model);
    return it == models_.end() ? 0 : it->second.calls;
  }
  int64_t total_calls() const override { return static_cast<int64_t>(total_.load()); }
  int64_t injected(MockFault fault) const override {
    return injected_[static_cast<std::size_t>(fault)].load();
  }
  std::size_t open_connections() const override { return open_.load(); }

 private:
  struct ModelState {
    std::shared_ptr<const MockBehavior> behavior;  // null: the default
    int64_t calls = 0;
    int64_t fault_base = 0;  // calls when last scripted: fail_times counts from here
  };

  net::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_->async_accept(serial_executor(ioc_->get_executor()), kNoThrow);
      if (ec == net::error::operation_aborted || !acceptor_->is_open()) co_return;
      if (ec) {  // out of descriptors: back off instead of spinning
        net::steady_timer t(acceptor_->get_executor(), 10ms);
        co_await t.async_wait(kNoThrow);
        continue;
      }
      auto ex = socket.get_executor();
      net::co_spawn(ex, serve(std::move(socket)), net::detached);
    }
  }

  net::awaitable<void> serve(tcp::socket socket) {
    ++open_;
    struct Count {
      std::atomic<std::size_t>& n;
      ~Count() { --n; }
    } count{open_};
    error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    if (tls_) {
      beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), *tls_);
      beast::get_lowest_layer(stream).expires_after(10s);
      auto [ec] = co_await stream.async_handshake(ssl::stream_base::server, kNoThrow);
      if (ec) co_return;  // e.g. a client that rejected our certificate
      co_await session(stream);
    } else {
      beast::tcp_stream stream(std::move(socket));
      co_await session(stream);
    }
  }

  template <class Stream>
  net::awaitable<void> session(Stream& stream) {
    auto& low = beast::get_lowest_layer(stream);
    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(kMaxRequestBytes);
      low.expires_after(kKeepAliveIdle);
      auto [ec, n] = co_await http::async_read(stream, buffer, parser, kNoThrow);
      if (ec) co_return;
      const auto& req = parser.get();
      const bool keep_alive = req.keep_alive();
      Plan plan = plan_for(req);

      if (plan.latency.count() > 0) {
        net::steady_timer t(low.get_executor(), plan.latency);
        co_await t.async_wait(kNoThrow);
      }
      if (plan.action == MockFault::reset) {
        low.socket().set_option(net::socket_base::linger(true, 0), ec);
        low.socket().close(ec);  // linger 0: the peer sees a TCP reset
        co_return;
      }
      if (plan.action == MockFault::hang) {
        low.expires_after(kHangLimit);
        char byte;
        co_await low.async_read_some(net::buffer(&byte, 1), kNoThrow);  // until the client leaves
        co_return;
      }
      const bool whole = plan.sse ? co_await write_stream(stream, plan, keep_alive)
                                  : co_await write_body(stream, plan, keep_alive);
      if (!whole || !keep_alive) break;
    }
    error_code ec;
    low.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  std::string head(const Plan& p, bool keep_alive, std::string_view type) const {
    std::string h = "HTTP/1.1 " + std::to_string(p.status) + " " +
                    std::string(http::obsolete_reason(static_cast<http::status>(p.status))) +
                    "\r\nContent-Type: ";
    h += type;
    h += "\r\nServer: tollgate-mock\r\n";
    if (p.retry_after.count() > 0) h += "Retry-After: " + std::to_string(p.retry_after.count()) + "\r\n";
    if (!keep_alive) h += "Connection: close\r\n";
    return h;
  }

  template <class Stream>
  net::awaitable<bool> write_body(Stream& stream, const Plan& p, bool keep_alive) {
    std::string out = head(p, keep_alive, "application/json");
    out += "Content-Length: " + std::to_string(p.body.size()) + "\r\n\r\n";
    const bool cut = p.cut_after < p.body.size();
    out.append(p.body, 0, cut ? p.cut_after : p.body.size());
    beast::get_lowest_layer(stream).expires_after(kWriteTimeout);
    auto [ec, n] = co_await net::async_write(stream, net::buffer(out), kNoThrow);
    co_return !ec && !cut;
  }

  template <class Stream>
  net::awaitable<bool> write_stream(Stream& stream, const Plan& p, bool keep_alive) {
    auto& low = beast::get_lowest_layer(stream);
    std::string out = head(p, keep_alive, "text/event-stream");
    out += "Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n";
    const std::size_t end = std::min(p.cut_after, p.events.size());
    const auto start = std::chrono::steady_clock::now();
    net::steady_timer pace(low.get_executor());
    for (std::size_t i = 0; i < end; ++i) {
      // Paced: each piece waits for its slot; framing goes with its neighbour.
      if (p.gap.count() > 0 && i > p.first_piece && i < p.first_piece + p.pieces) {
        if (!out.empty()) {
          low.expires_after(kWriteTimeout);
          auto [ec, n] = co_await net::async_write(stream, net::buffer(out), kNoThrow);
          if (ec) co_return false;
          out.clear();
        }
        pace.expires_at(start + p.gap * static_cast<int64_t>(i - p.first_piece));
        co_await pace.async_wait(kNoThrow);
      }
      out += chunk_frame(p.events[i]);
    }
    const bool cut = end < p.events.size();
    if (!cut) out += "0\r\n\r\n";
    low.expires_after(kWriteTimeout);
    auto [ec, n] = co_await net::async_write(stream, net::buffer(out), kNoThrow);
    co_return !ec && !cut;  // a cut stream ends the connection without its last chunk
  }

  // Decides the answer; counts the call.
  template <class Request>
  Plan plan_for(const Request& req) {
    Plan plan;
    const std::string_view target = req.target();
    const ApiKind api = target.ends_with("/messages") ? ApiKind::anthropic : ApiKind::openai;
    auto error = [&](int status, std::string_view code, std::string_view message) {
      plan.status = status;
      plan.body = render_mock_error(api, status, code, message);
      return plan;
    };
    if (req.method() != http::verb::post ||
        !(target.ends_with("/chat/completions") || target.ends_with("/messages"))) {
      return error(404, "", "mock: POST .../chat/completions or .../messages");
    }
    if (!opts_.api_key.empty()) {
      const std::string_view bearer = req[http::field::authorization];
      const std::string_view x_key = req["x-api-key"];
      if (bearer != "Bearer " + opts_.api_key && x_key != opts_.api_key) {
        ++total_;
        return error(401, "invalid_api_key", "Incorrect API key provided.");
      }
    }
    auto parsed = parse_mock_request(api, req.body());
    if (!parsed) {
      ++total_;
      return error(400, "", parsed.error());
    }
    const MockRequest& r = *parsed;

    std::shared_ptr<const MockBehavior> behavior;
    int64_t nth = 0;
    {
      std::lock_guard lock(mu_);
      auto& m = models_[r.model];
      nth = ++m.calls - m.fault_base;
      behavior = m.behavior ? m.behavior : default_;
    }
    const uint64_t serial = ++total_;
    MockBehavior scripted;
    const MockBehavior* b = behavior.get();
    if (const std::string_view spec = req["x-mock-script"]; !spec.empty()) {
      scripted = *behavior;
      if (auto ok = apply_mock_script(spec, scripted); !ok) return error(400, "", ok.error());
      b = &scripted;
    }

    plan.latency = b->latency;
    const MockFault fault = mock_fault_for(*b, r, nth, serial);
    ++injected_[static_cast<std::size_t>(fault)];
    const std::string window = std::to_string(b->context_window > 0 ? b->context_window : 8192);
    const std::string tokens = std::to_string(r.prompt_tokens);
    switch (fault) {
      case MockFault::rate_limit:
        plan.retry_after = b->retry_after;
        return error(429, "rate_limit_exceeded", "Rate limit reached for " + r.model + ". Please try again later.");
      case MockFault::server_error:
        return error(500, "", "The server had an error while processing your request.");
      case MockFault::unavailable:
        plan.retry_after = b->retry_after;
        return error(503, "", "The engine is currently overloaded, please try again later.");
      case MockFault::context_length:
        return error(400, "context_length_exceeded",
                     api == ApiKind::anthropic
                         ? "prompt is too long: " + tokens + " tokens > " + window + " maximum"
                         : "This model's maximum context length is " + window +
                               " tokens. However, your messages resulted in " + tokens + " tokens.");
      case MockFault::bad_request:
        return error(400, "invalid_value", "Invalid value for 'temperature': must be between 0 and 2.");
      case MockFault::unauthorized:
        return error(401, "invalid_api_key", "Incorrect API key provided.");
      case MockFault::hang:
      case MockFault::reset:
        plan.action = fault;
        return plan;
      default:
        break;
    }

    const MockAnswer answer = make_mock_answer(r, *b, "mock-" + std::to_string(serial));
    if (r.stream) {
      plan.sse = true;
      plan.events = render_mock_sse(r, answer);
      plan.first_piece = first_piece_event(api, answer);
      plan.pieces = answer.pieces.size();
      if (b->tokens_per_second > 0) {
        plan.gap = std::chrono::nanoseconds(static_cast<int64_t>(1e9 / b->tokens_per_second));
      }
      if (fault == MockFault::truncate) {
        plan.cut_after = plan.first_piece + static_cast<std::size_t>(std::max<int64_t>(0, b->truncate_after));
        plan.cut_after = std::min(plan.cut_after, plan.events.size() - 1);
      } else if (fault == MockFault::malformed) {
        plan.events.resize(std::min(plan.events.size(), plan.first_piece + 1));
        plan.events.emplace_back("data: {\"id\": \"broken\", \"choices\": [\n\n");
      } else if (fault == MockFault::deep) {
        plan.events.resize(std::min(plan.events.size(), plan.first_piece + 1));
        plan.events.emplace_back("data: " + deep_json() + "\n\n");
      }
    } else {
      plan.body = render_mock_json(r, answer);
      if (fault == MockFault::truncate) plan.cut_after = plan.body.size() / 2;
      if (fault == MockFault::malformed) plan.body = "{\"id\": \"broken\", \"choices\": [";
      if (fault == MockFault::deep) plan.body = deep_json();
    }
    return plan;
  }

  const MockServerOptions opts_;
  std::unique_ptr<net::io_context> ioc_;
  std::optional<ssl::context> tls_;
  std::optional<tcp::acceptor> acceptor_;
  std::vector<std::thread> threads_;
  uint16_t port_ = 0;

  mutable std::mutex mu_;
  std::map<std::string, ModelState, std::less<>> models_;  // guarded by mu_
  std::shared_ptr<const MockBehavior> default_;             // guarded by mu_
  std::atomic<uint64_t> total_{0};
  std::array<std::atomic<int64_t>, kMockFaultKinds> injected_{};  // by MockFault
  std::atomic<std::size_t> open_{0};
};

}  // namespace

Expected<std::unique_ptr<MockServer>> MockServer::start(MockServerOptions options) {
  auto server = std::make_unique<MockServerImpl>(std::move(options));
  if (auto ok = server->listen(); !ok) return Unexpected(ok.error());
  return std::unique_ptr<MockServer>(std::move(server));
}

}  // namespace tollgate::adapters
