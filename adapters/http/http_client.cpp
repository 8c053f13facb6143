// The HTTP/1.1 client behind every provider: Beast over Asio, C++20
// coroutines, one strand per connection.
//
// Flow of one request (an "exchange"): take an idle pooled connection, or
// open a new one while under pool_size, or wait in a bounded FIFO queue;
// then, on the connection's strand, connect if needed (DNS, TCP, TLS), write
// the request, read the header, hand body bytes to the sink as they arrive,
// and give the connection back (kept alive when the response allows it,
// closed otherwise). A reused connection that the server had already closed
// is retried once on a fresh one before any byte of the answer was read.
//
// Deadlines: every step sets one on the stream (Beast's tcp_stream closes
// the socket when it passes), capped by the exchange's total deadline, so
// an exchange can never outlive total_timeout.
#include "adapters/http/http_client.hpp"
#include "adapters/http/http_field.hpp"
#include "adapters/http/serial_executor.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <ctime>
#include <deque>
#include <iomanip>
#include <mutex>
#include <sstream>

// GCC 12 with sanitizers reports -Wmaybe-uninitialized inside Beast's parser
// (boost::optional in basic_parser); a false positive in a system header.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#pragma GCC diagnostic pop
#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace tollgate::adapters {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
// One connection's handlers run one at a time on it: a strand, or the
// io_context's own executor when one thread runs it (serial_executor.hpp).
using Strand = net::any_io_executor;
using boost::system::error_code;
using std::chrono::milliseconds;

constexpr auto kNoThrow = net::as_tuple(net::use_awaitable);
// Servers close idle keep-alive connections after 5–120 s; a connection idle
// longer than this is more likely dead than useful, so it is not reused.
constexpr auto kMaxIdleAge = std::chrono::seconds(30);
// How long a DNS answer is reused before resolving again.
constexpr auto kDnsTtl = std::chrono::seconds(60);

struct Connection : std::enable_shared_from_this<Connection> {
  explicit Connection(Strand s) : strand(std::move(s)) {}

  bool connected() const { return plain.has_value() || secure.has_value(); }
  beast::tcp_stream& lowest() { return secure ? beast::get_lowest_layer(*secure) : *plain; }
  void close() {
    if (!connected()) return;
    error_code ignored;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    lowest().socket().close(ignored);
    secure.reset();
    plain.reset();
    buffer.clear();
  }

  Strand strand;  // every use of the members below runs on it
  std::optional<tcp::resolver> resolver;
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
  beast::flat_buffer buffer;  // persists between reads of one response
  Clock::time_point idle_since;
};

struct Exchange {
  std::string target;
  std::string body;
  std::shared_ptr<HttpSink> sink;
  std::shared_ptr<CancelSignal> cancel;
  uint64_t cancel_ticket = 0;  // while queued: guarded by the client's mutex
  Clock::time_point deadline;
  std::optional<net::steady_timer> wait_timer;  // while queued for a connection
  bool cancelled = false;                       // on the connection's strand
  bool request_sent = false;                    // on the connection's strand
};

// The time a step may take: its own timeout, or what is left of the total.
struct Budget {
  Clock::duration time;
  bool total_binds;  // the total deadline, not the step's, is the limit
};
Budget budget(const Exchange& x, milliseconds step) {
  const auto left = x.deadline - Clock::now();
  if (left <= step) return {std::max(left, Clock::duration::zero()), true};
  return {step, false};
}

// The header lines every request carries ("Name: value\r\n" each): ours,
// then the configured ones, a configured name replacing ours (Host, User-Agent
// and Accept may be overridden; one name configured twice keeps the last).
std::string fixed_header_lines(const std::string& host,
                               const std::vector<std::pair<std::string, std::string>>& configured) {
  std::vector<std::pair<std::string_view, std::string_view>> fields{
      {"Host", host},
      {"User-Agent", "tollgate/0.1"},
      {"Content-Type", "application/json"},
      {"Accept", "application/json, text/event-stream"}};
  for (const auto& header : configured) {
    std::erase_if(fields, [&](const auto& f) { return iequals_ascii(f.first, header.first); });
    fields.emplace_back(header.first, header.second);
  }
  std::string lines;
  for (const auto& [name, value] : fields) {
    lines += name;
    lines += ": ";
    lines += value;
    lines += "\r\n";
  }
  return lines;
}

std::string ms_text(milliseconds ms) { return std::to_string(ms.count()) + " ms"; }

TransportError cancelled_error() {
  return {TransportErrorKind::cancelled, "cancelled by the caller"};
}

bool is_closed_by_peer(const error_code& ec) {
  return ec == net::error::eof || ec == http::error::end_of_stream ||
         ec == net::error::connection_reset || ec == net::error::broken_pipe ||
         ec == net::error::connection_aborted || ec == ssl::error::stream_truncated;
}

// Retry-After: delta-seconds or an HTTP date. retry-after-ms (OpenAI) wins.
std::optional<milliseconds> parse_retry_after(std::string_view secs, std::string_view ms) {
  auto digits = [](std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char ch) { return std::isdigit(ch); });
  };
  if (digits(ms) && ms.size() < 12) return milliseconds(std::stoll(std::string(ms)));
  if (secs.empty()) return std::nullopt;
  if (digits(secs) && secs.size() < 9) return milliseconds(std::stoll(std::string(secs)) * 1000);
  std::tm tm{};
  std::istringstream in{std::string(secs)};
  in >> std::get_time(&tm, "%a, %d %b %Y %H:%M:%S");
  if (in.fail()) return std::nullopt;
  // The calendar refuses a date it lacks ("31 Feb"), which timegm rolled into March.
  namespace chr = std::chrono;
  const chr::year_month_day date{chr::year{tm.tm_year + 1900}, chr::month{static_cast<unsigned>(tm.tm_mon + 1)},
                                 chr::day{static_cast<unsigned>(tm.tm_mday)}};
  if (!date.ok()) return std::nullopt;
  const auto when = chr::sys_days{date} + chr::hours{tm.tm_hour} + chr::minutes{tm.tm_min} + chr::seconds{tm.tm_sec};
  const auto wait = std::chrono::duration_cast<milliseconds>(when - std::chrono::system_clock::now());
  return std::max(wait, milliseconds(0));
}

class ClientImpl final : public HttpClient, public std::enable_shared_from_this<ClientImpl> {
 public:
  ClientImpl(net::any_io_executor ex, HttpClientOptions o, std::unique_ptr<ssl::context> ctx)
      : ex_(std::move(ex)), opts_(std::move(o)), tls_(std::move(ctx)) {
    const auto& e = opts_.endpoint;
    const bool default_port = (e.tls && e.port == "443") || (!e.tls && e.port == "80");
    // An IPv6 literal keeps its brackets in Host (RFC 9110 7.2).
    const std::string host = e.host.find(':') == std::string::npos ? e.host : "[" + e.host + "]";
    host_header_ = default_port ? host : host + ":" + e.port;
    header_lines_ = fixed_header_lines(host_header_, opts_.headers);
  }

  void async_post(std::string_view path, std::string body, std::shared_ptr<HttpSink> sink,
                  std::shared_ptr<CancelSignal> cancel) override {
    auto x = std::make_shared<Exchange>();
    x->target = opts_.endpoint.path_prefix;
    x->target += path;
    x->body = std::move(body);
    x->sink = std::move(sink);
    x->cancel = std::move(cancel);
    x->deadline = Clock::now() + opts_.connection.total_timeout;

    std::shared_ptr<Connection> conn;
    bool reused = false;
    {
      std::unique_lock lock(mu_);
      drop_stale_idle();
      if (!idle_.empty()) {
        conn = std::move(idle_.back());
        idle_.pop_back();
        reused = true;
      } else if (open_ < opts_.connection.pool_size) {
        ++open_;
        conn = std::make_shared<Connection>(serial_executor(ex_));
      } else if (waiters_.size() >= opts_.connection.max_queued) {
        lock.unlock();
        finish_unstarted(x, {TransportErrorKind::queue_full,
                             "connection pool to " + host_header_ + " is full (" +
                                 std::to_string(opts_.connection.pool_size) + " connections, " +
                                 std::to_string(opts_.connection.max_queued) + " queued)"});
        return;
      } else {
        // Armed under the lock so a hand-over (which cancels the timer)
        // cannot come before the wait starts.
        x->wait_timer.emplace(serial_executor(ex_));
        x->wait_timer->expires_at(x->deadline);
        x->wait_timer->async_wait(
            [self = shared_from_this(), x](error_code) { self->give_up_waiting(x, false); });
        if (x->cancel) {
          // Registered under the lock, so a hand-over (which replaces it)
          // cannot come first; it only posts, so running it here is safe.
          std::weak_ptr<ClientImpl> ws = weak_from_this();
          std::weak_ptr<Exchange> wx = x;
          x->cancel_ticket = x->cancel->set_handler([ws, wx, ex = ex_] {
            net::post(ex, [ws, wx] {
              auto s = ws.lock();
              auto xx = wx.lock();
              if (s && xx) s->give_up_waiting(xx, true);
            });
          });
        }
        waiters_.push_back(x);
        return;
      }
    }
    start(std::move(x), std::move(conn), reused);
  }

  std::size_t open_connections() const override {
    std::lock_guard lock(mu_);
    return open_;
  }
  std::size_t queued() const override {
    std::lock_guard lock(mu_);
    return waiters_.size();
  }

 private:
  // REQUIRES: mu_ held. idle_ is a stack: the oldest are at the front.
  void drop_stale_idle() {
    const auto now = Clock::now();
    auto fresh = std::find_if(idle_.begin(), idle_.end(),
                              [&](const auto& c) { return now - c->idle_since < kMaxIdleAge; });
    open_ -= static_cast<std::size_t>(fresh - idle_.begin());
    idle_.erase(idle_.begin(), fresh);  // no operation is pending on them
  }

  void finish_unstarted(const std::shared_ptr<Exchange>& x, TransportError e) {
    net::post(ex_, [x, e = std::move(e)]() mutable { x->sink->on_done(std::move(e)); });
  }

  // A queued exchange's deadline passed, or its caller cancelled.
  void give_up_waiting(const std::shared_ptr<Exchange>& x, bool cancelled) {
    uint64_t ticket = 0;
    {
      std::lock_guard lock(mu_);
      auto it = std::find(waiters_.begin(), waiters_.end(), x);
      if (it == waiters_.end()) return;  // already handed a connection
      waiters_.erase(it);
      ticket = x->cancel_ticket;
    }
    if (x->cancel) x->cancel->clear(ticket);
    net::post(x->wait_timer->get_executor(), [x] { x->wait_timer->cancel(); });
    finish_unstarted(x, cancelled ? cancelled_error()
                                  : TransportError{TransportErrorKind::timeout_total,
                                                   "no connection to " + host_header_ +
                                                       " came free within the total timeout (" +
                                                       ms_text(opts_.connection.total_timeout) + ")"});
  }

  void start(std::shared_ptr<Exchange> x, std::shared_ptr<Connection> c, bool reused) {
    if (x->cancel) {
      std::weak_ptr<Exchange> wx = x;
      std::weak_ptr<Connection> wc = c;
      x->cancel_ticket = x->cancel->set_handler([wx, wc, strand = c->strand] {
        net::post(strand, [wx, wc] {
          auto xx = wx.lock();
          auto cc = wc.lock();
          if (!xx || !cc) return;
          xx->cancelled = true;
          if (cc->resolver) cc->resolver->cancel();
          if (cc->connected()) cc->lowest().cancel();
        });
      });
    }
    auto strand = c->strand;
    net::co_spawn(strand, run(std::move(x), std::move(c), reused), net::detached);
  }

  // Gives a finished exchange's connection to the next waiter, or to the
  // idle pool, or closes it. Runs on the connection's strand.
  void release(std::shared_ptr<Connection> c, bool reusable) {
    std::shared_ptr<Exchange> next;
    bool fresh = false;
    uint64_t ticket = 0;
    {
      std::lock_guard lock(mu_);
      if (!reusable) {
        c.reset();
        if (waiters_.empty()) {
          --open_;
          return;
        }
        fresh = true;  // its slot in the pool goes to the waiter
      } else if (waiters_.empty()) {
        c->idle_since = Clock::now();
        idle_.push_back(std::move(c));
        return;
      }
      next = std::move(waiters_.front());
      waiters_.pop_front();
      ticket = next->cancel_ticket;
    }
    if (fresh) c = std::make_shared<Connection>(serial_executor(ex_));
    if (next->cancel) next->cancel->clear(ticket);
    net::post(next->wait_timer->get_executor(), [next] { next->wait_timer->cancel(); });
    start(std::move(next), std::move(c), !fresh);
  }

  net::awaitable<void> run(std::shared_ptr<Exchange> x, std::shared_ptr<Connection> c,
                           bool reused) {
    std::optional<TransportError> err;
    bool reusable = false;
    try {
      for (int round = 0; round < 2; ++round) {
        bool stale = false;
        err.reset();
        x->request_sent = false;
        if (!c->connected()) err = co_await connect(*x, *c);
        if (!err) {
          if (c->secure) {
            err = co_await exchange(*c->secure, *x, *c, reused, reusable, stale);
          } else {
            err = co_await exchange(*c->plain, *x, *c, reused, reusable, stale);
          }
        }
        if (!stale) break;
        c->close();  // the server had closed it while idle: once more, fresh
        reused = false;
      }
    } catch (const std::exception& e) {
      err = TransportError{TransportErrorKind::protocol, e.what()};
    }
    if (err) err->request_sent = x->request_sent;
    if (x->cancel) x->cancel->clear(x->cancel_ticket);
    if (err || !reusable) c->close();
    release(std::move(c), !err && reusable);
    x->sink->on_done(std::move(err));
  }

  tcp::resolver::results_type cached_endpoints() {
    std::lock_guard lock(mu_);
    if (Clock::now() - resolved_at_ > kDnsTtl) return {};
    return resolved_;
  }

  net::awaitable<std::optional<TransportError>> connect(Exchange& x, Connection& c) {
    const auto& e = opts_.endpoint;
    const Budget b = budget(x, opts_.connection.connect_timeout);
    auto timeout = [&](std::string_view step) {
      return TransportError{b.total_binds ? TransportErrorKind::timeout_total
                                          : TransportErrorKind::timeout_connect,
                            std::string(step) + " " + host_header_ + " timed out after " +
                                ms_text(std::chrono::duration_cast<milliseconds>(b.time))};
    };
    if (x.cancelled) co_return cancelled_error();

    auto endpoints = cached_endpoints();
    if (endpoints.empty()) {
      c.resolver.emplace(c.strand);
      // The resolver has no deadline of its own: a timer cancels it. Both
      // run on the strand; the timer's handler may run after this frame is
      // gone, so it holds only shared state.
      auto expired = std::make_shared<bool>(false);
      net::steady_timer timer(c.strand);
      timer.expires_after(b.time);
      timer.async_wait([conn = c.shared_from_this(), expired](error_code ec) {
        if (ec) return;  // cancelled: the lookup finished first
        *expired = true;
        if (conn->resolver) conn->resolver->cancel();
      });
      auto [ec, results] = co_await c.resolver->async_resolve(e.host, e.port, kNoThrow);
      timer.cancel();
      c.resolver.reset();
      if (x.cancelled) co_return cancelled_error();
      if (ec && *expired) co_return timeout("resolving");
      if (ec) co_return TransportError{TransportErrorKind::connect,
                                       "cannot resolve " + e.host + ": " + ec.message()};
      endpoints = results;
      std::lock_guard lock(mu_);
      resolved_ = results;
      resolved_at_ = Clock::now();
    }

    if (tls_) {
      c.secure.emplace(c.strand, *tls_);
      // SNI must be a name, never an address literal.
      error_code addr_ec;
      net::ip::make_address(e.host, addr_ec);
      if (addr_ec && !SSL_set_tlsext_host_name(c.secure->native_handle(), e.host.c_str())) {
        co_return TransportError{TransportErrorKind::tls, "cannot set TLS server name " + e.host};
      }
      if (opts_.connection.verify_tls) c.secure->set_verify_callback(ssl::host_name_verification(e.host));
    } else {
      c.plain.emplace(c.strand);
    }
    auto& low = c.lowest();
    low.expires_after(b.time);
    auto [ec, ep] = co_await low.async_connect(endpoints, kNoThrow);
    if (x.cancelled) co_return cancelled_error();
    if (ec == beast::error::timeout) co_return timeout("connecting to");
    if (ec) co_return TransportError{TransportErrorKind::connect,
                                     "cannot connect to " + host_header_ + ": " + ec.message()};
    error_code ignored;
    low.socket().set_option(tcp::no_delay(true), ignored);

    if (c.secure) {
      auto [hec] = co_await c.secure->async_handshake(ssl::stream_base::client, kNoThrow);
      if (x.cancelled) co_return cancelled_error();
      if (hec == beast::error::timeout) co_return timeout("TLS handshake with");
      if (hec) {
        std::string why = hec.message();
        const long verify = SSL_get_verify_result(c.secure->native_handle());
        if (verify != X509_V_OK) {
          why += std::string(" (") + X509_verify_cert_error_string(verify) +
                 "); to trust a private CA, set the provider's ca_file";
        }
        co_return TransportError{TransportErrorKind::tls,
                                 "TLS handshake with " + host_header_ + " failed: " + why};
      }
    }
    co_return std::nullopt;
  }

  // What a failed read or write means, in the words of the step it broke.
  TransportError map_error(const error_code& ec, const Budget& b, TransportErrorKind timeout_kind,
                           std::string_view step) const {
    if (ec == beast::error::timeout) {
      return {b.total_binds ? TransportErrorKind::timeout_total : timeout_kind,
              "timed out " + std::string(step) + " from " + host_header_ + " after " +
                  ms_text(std::chrono::duration_cast<milliseconds>(b.time))};
    }
    if (ec == http::error::body_limit) {
      return {TransportErrorKind::too_large,
              "response from " + host_header_ + " exceeded " +
                  std::to_string(opts_.connection.max_response_bytes) + " bytes (max_response_bytes)"};
    }
    if (ec == http::error::partial_message) {
      return {TransportErrorKind::truncated,
              "response from " + host_header_ + " ended before its declared end"};
    }
    if (is_closed_by_peer(ec)) {
      return {TransportErrorKind::reset,
              "connection to " + host_header_ + " closed " + std::string(step) + ": " + ec.message()};
    }
    if (&ec.category() == &http::make_error_code(http::error::bad_version).category()) {
      return {TransportErrorKind::protocol,
              "invalid HTTP response from " + host_header_ + ": " + ec.message()};
    }
    return {TransportErrorKind::reset, "connection to " + host_header_ + " failed " +
                                           std::string(step) + ": " + ec.message()};
  }

  template <class Stream>
  net::awaitable<std::optional<TransportError>> exchange(Stream& s, Exchange& x, Connection& c,
                                                        bool reused, bool& reusable,
                                                        bool& stale) {
    // Written by hand rather than through Beast's serializer: the head is
    // a handful of fixed lines (built once, in header_lines_), and the body
    // goes out from where it is, in the same write.
    std::string request_head;
    request_head.reserve(x.target.size() + header_lines_.size() + 48);
    request_head += "POST ";
    request_head += x.target;
    request_head += " HTTP/1.1\r\n";
    request_head += header_lines_;
    request_head += "Content-Length: ";
    request_head += std::to_string(x.body.size());
    request_head += "\r\n\r\n";
    const std::array<net::const_buffer, 2> request{net::buffer(request_head), net::buffer(x.body)};

    auto& low = c.lowest();
    Budget b = budget(x, opts_.connection.first_byte_timeout);
    low.expires_after(b.time);
    auto [wec, wn] = co_await net::async_write(s, request, kNoThrow);
    x.request_sent = !wec;
    if (x.cancelled) co_return cancelled_error();
    if (wec) {
      stale = reused && wec != beast::error::timeout;
      co_return map_error(wec, b, TransportErrorKind::timeout_first_byte, "sending the request");
    }

    http::response_parser<http::string_body> parser;
    parser.body_limit(opts_.connection.max_response_bytes);
    parser.header_limit(64 * 1024);  // CDNs in front of providers send many headers
    auto [hec, hn] = co_await http::async_read_header(s, c.buffer, parser, kNoThrow);
    if (x.cancelled) co_return cancelled_error();
    if (hec) {
      stale = reused && !parser.got_some() && is_closed_by_peer(hec);
      co_return map_error(hec, b, TransportErrorKind::timeout_first_byte,
                          "waiting for the response");
    }
    const auto& msg = parser.get();
    HttpResponseHead head;
    head.status = static_cast<int>(msg.result_int());
    head.content_type = std::string(msg[http::field::content_type]);
    head.retry_after = parse_retry_after(msg[http::field::retry_after], msg["retry-after-ms"]);
    x.sink->on_head(head);

    while (!parser.is_done()) {
      b = budget(x, opts_.connection.idle_timeout);
      low.expires_after(b.time);
      auto [ec, n] = co_await http::async_read_some(s, c.buffer, parser, kNoThrow);
      auto& body = parser.get().body();
      if (!body.empty()) {
        const bool more = x.sink->on_body(body);
        body.clear();  // the sink has it now: never held twice
        if (!more) co_return TransportError{TransportErrorKind::aborted, "stopped by the reader"};
      }
      if (x.cancelled) co_return cancelled_error();
      if (ec) co_return map_error(ec, b, TransportErrorKind::timeout_idle, "reading the response");
    }
    low.expires_never();
    reusable = parser.keep_alive();
    co_return std::nullopt;
  }

  net::any_io_executor ex_;
  const HttpClientOptions opts_;
  const std::unique_ptr<ssl::context> tls_;  // null for http://
  std::string host_header_;
  std::string header_lines_;  // every request's header lines but Content-Length

  mutable std::mutex mu_;
  std::size_t open_ = 0;                              // guarded by mu_
  std::vector<std::shared_ptr<Connection>> idle_;     // guarded by mu_
  std::deque<std::shared_ptr<Exchange>> waiters_;     // guarded by mu_
  tcp::resolver::results_type resolved_;              // guarded by mu_
  Clock::time_point resolved_at_;                     // guarded by mu_
};

}  // namespace

Expected<HttpEndpoint> parse_base_url(std::string_view url) {
  auto bad = [&](std::string_view why) {
    return Unexpected("invalid base_url '" + std::string(url) + "': " + std::string(why));
  };
  // Before the URL grammar, which would only say where it stopped: a space
  // or line break would split the request line or a header.
  if (has_space_or_control_char(url)) {
    return bad("spaces and control characters are not allowed");
  }
  const auto parsed = boost::urls::parse_uri(boost::urls::string_view(url.data(), url.size()));
  constexpr std::string_view kNotAUrl = "not a URL (RFC 3986); write it as https://host[:port][/path]";
  if (!parsed) {
    const bool http = url.starts_with("http://") || url.starts_with("https://");
    return bad(http ? kNotAUrl : "must start with http:// or https://");
  }
  const boost::urls::url_view& u = *parsed;
  HttpEndpoint e;
  if (u.scheme_id() == boost::urls::scheme::https) {
    e.tls = true;
  } else if (u.scheme_id() == boost::urls::scheme::http) {
    e.tls = false;
  } else {
    return bad("must start with http:// or https://");
  }
  if (!u.has_authority()) return bad("must start with http:// or https://");
  if (u.has_userinfo()) {
    return bad("user info (user:password@) is not allowed; send credentials with api_key or headers");
  }
  if (u.has_query() || u.has_fragment()) return bad("a query ('?') or fragment ('#') is not allowed");
  // The address without an IPv6 literal's brackets (the Host header puts
  // them back); a name as written, percent escapes and all, as before.
  if (u.host_type() == boost::urls::host_type::ipvfuture) return bad("an IPvFuture host is not supported");
  const std::string_view host(u.encoded_host_address().data(), u.encoded_host_address().size());
  if (host.empty()) return bad("no host");
  e.host = std::string(host);
  // The grammar has made the port digits, of any length; "host:" is no port.
  const std::string_view port(u.port().data(), u.port().size());
  if (port.empty()) {
    e.port = e.tls ? "443" : "80";
  } else {
    uint32_t value = 0;
    for (char digit : port) {
      value = value * 10 + static_cast<uint32_t>(digit - '0');
      if (value > 65535) break;
    }
    if (value == 0 || value > 65535) {
      return bad("port " + std::string(port) + " is out of range; give 1 to 65535");
    }
    e.port = std::string(port);
  }
  std::string_view path(u.encoded_path().data(), u.encoded_path().size());
  // Boost 1.81 lets "h:80a/v1" through as port 80 and path "a/v1"; after an
  // authority the grammar wants a path that starts with '/'.
  if (!path.empty() && path.front() != '/') return bad(kNotAUrl);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  e.path_prefix = std::string(path);
  return e;
}

Expected<std::shared_ptr<HttpClient>> HttpClient::create(net::any_io_executor executor,
                                                       HttpClientOptions options) {
  if (options.connection.pool_size == 0) {
    return Unexpected("pool_size must be at least 1");
  }
  for (const auto& [name, value] : options.headers) {
    if (auto problem = configured_header_problem(name, value); !problem.empty()) return Unexpected(problem);
  }
  std::unique_ptr<ssl::context> tls;
  if (options.endpoint.tls) {
    tls = std::make_unique<ssl::context>(ssl::context::tls_client);
    tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                     ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    if (options.connection.verify_tls) {
      tls->set_verify_mode(ssl::verify_peer);
      error_code ec;
      tls->set_default_verify_paths(ec);  // no system store is not fatal with a ca_file
      if (!options.connection.ca_file.empty()) {
        tls->load_verify_file(options.connection.ca_file, ec);
        if (ec) {
          return Unexpected("cannot load CA file '" + options.connection.ca_file +
                                                  "': " + ec.message());
        }
      }
    } else {
      tls->set_verify_mode(ssl::verify_none);
    }
  }
  return std::shared_ptr<HttpClient>(
      std::make_shared<ClientImpl>(std::move(executor), std::move(options), std::move(tls)));
}

}  // namespace tollgate::adapters
