// The gateway's HTTP server: Beast over Asio, one coroutine and one strand
// per connection (none with one I/O thread: serial_executor.hpp), HTTP/1.1
// keep-alive. Responses are written as raw bytes
// (status line, headers, body or chunks) rather than through Beast's
// serializer: the answers are small and the added latency is what a gateway
// is judged by.
//
// A request's answer travels through an Outbox shared by the Responder (any
// thread) and the session (its strand): the Responder appends framed bytes
// under a mutex and, only if the session is parked waiting, posts a wake-up
// (cancelling the session's timer) onto the strand. The session drains the
// outbox, writes, and parks again until the answer is complete.
#include "server/gateway_server.hpp"
#include "server/gateway_executor.hpp"
#include "server/io_loop.hpp"
#include "adapters/http/serial_executor.hpp"
#include "adapters/http/tcp_listener.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <condition_variable>
#include <list>
#include <mutex>
#include <shared_mutex>
#include <thread>

#include <sys/socket.h>

// GCC 12 with sanitizers reports -Wmaybe-uninitialized inside Beast's parser
// (boost::optional in basic_parser); a false positive in a system header.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#pragma GCC diagnostic pop

// GCC 12 with sanitizers inlines Asio's coroutine frame allocation
// (aligned_new) and its class-specific operator delete into the session
// and then reports them as mismatched; they are Asio's own matching pair.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace tollgate::adapters {

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using boost::system::error_code;
// One session's handlers run one at a time on it: a strand, or the
// io_context's own executor when one thread runs it (serial_executor.hpp).
using Strand = net::any_io_executor;
using Clock = std::chrono::steady_clock;

constexpr auto kNoThrow = net::as_tuple(net::use_awaitable);

// Whether the server's io_context may still be posted to. Responders can
// outlive the server (an engine callback that fires late); they check this
// under a shared lock before posting, and the server clears it, exclusively,
// before its io_context is destroyed.
struct Life {
  std::shared_mutex mu;
  bool alive = true;
  // stop() was called: answers say "Connection: close" from now on.
  std::atomic<bool> stopping{false};
  // stop()'s grace ran out: what is still unanswered is cut, and output
  // for it is dropped (the I/O threads may still run, for an engine that
  // shares them).
  std::atomic<bool> cut{false};
};

std::string head(int status, std::string_view type, const HttpHeaders& extra, bool keep_alive) {
  std::string h;
  h.reserve(160);
  h += "HTTP/1.1 ";
  h += std::to_string(status);
  h += ' ';
  h += http::obsolete_reason(static_cast<http::status>(status));
  h += "\r\nContent-Type: ";
  h += type;
  h += "\r\n";
  for (const auto& [k, v] : extra) {
    h += k;
    h += ": ";
    h += v;
    h += "\r\n";
  }
  if (!keep_alive) h += "Connection: close\r\n";
  return h;
}

void append_chunk(std::string& out, std::string_view data) {
  char size[20];
  const int n = std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  out.append(size, static_cast<std::size_t>(n));
  out.append(data);
  out.append("\r\n");
}

using ErrorFn = std::function<HttpResponse(int, std::string_view)>;

// Wakes a session parked on its timer. It belongs to the session (one per
// connection); an Outbox holds it weakly, so a Responder that outlives the
// server never owns, and so never destroys, an Asio object after its
// io_context is gone.
struct Waker {
  explicit Waker(const Strand& s) : strand(s), timer(s) {}
  Strand strand;
  net::steady_timer timer;  // used on `strand` only
};

// One request's answer, between the Responder and the session.
struct Outbox {
  std::mutex mu;
  std::string bytes;      // framed, waiting for the session to write them
  bool answered = false;  // respond() or begin_stream() took effect
  bool complete = false;  // the response's last byte is in `bytes` (or written)
  bool closed = false;    // no more output is wanted: client gone, timeout, stop
  bool parked = false;    // the session waits on its waker's timer for more
  bool keep_alive = true;
  std::size_t backlog_limit = 0;
  std::function<void()> on_close;  // Responder::on_close's; taken by the first close

  std::shared_ptr<Life> life;
  std::weak_ptr<Waker> waker;

  Outbox(std::shared_ptr<Life> l, std::weak_ptr<Waker> w) : life(std::move(l)), waker(std::move(w)) {}

  // Marks the client gone. Runs on_close if the answer was still owed; never
  // under the lock, as it may cancel an engine request synchronously.
  void close() {
    std::function<void()> fn;
    {
      std::lock_guard lock(mu);
      fn = close_locked();
    }
    if (fn) fn();
  }
  // The same with `mu` held: returns what the caller runs after unlocking.
  std::function<void()> close_locked() {
    if (closed) return {};
    closed = true;
    return complete ? std::function<void()>() : std::move(on_close);
  }

  // Appends under the lock (via `fill`) and wakes the session if it is
  // parked. Returns false when the output was dropped.
  template <typename Fill>
  bool push(Fill&& fill) {
    bool wake = false;
    std::function<void()> overflowed;
    {
      std::lock_guard lock(mu);
      if (closed || complete || life->cut) return false;
      if (!fill()) return false;
      if (bytes.size() > backlog_limit) {
        overflowed = close_locked();  // the client reads too slowly: cut the stream
      }
      wake = std::exchange(parked, false);
    }
    if (overflowed) overflowed();
    if (wake) {
      // While `alive` holds (shared), the io_context exists, so the waker
      // may be locked, posted to and released here.
      std::shared_lock alive(life->mu);
      if (life->alive) {
        if (auto w = waker.lock()) net::post(w->strand, [w] { w->timer.cancel(); });
      }
    }
    return true;
  }
};

class ResponderImpl final : public Responder {
 public:
  ResponderImpl(std::shared_ptr<Outbox> box, std::shared_ptr<const ErrorFn> error_response)
      : box_(std::move(box)), error_response_(std::move(error_response)) {}

  ~ResponderImpl() override {
    // Destructors must not throw; the only failure here is running out of
    // memory while queueing the last bytes, and then the connection's own
    // timeout ends it.
    try {
      bool answered;
      {
        std::lock_guard lock(box_->mu);
        answered = box_->answered;
      }
      if (!answered) {
        respond((*error_response_)(500, "the gateway dropped the request without an answer"));
      } else {
        finish();  // a stream left open ends here rather than hanging the client
      }
    } catch (...) {
    }
  }

  void respond(HttpResponse r) override {
    box_->push([&] {
      if (box_->answered) return false;
      box_->answered = true;
      box_->complete = true;
      box_->bytes += head(r.status, r.content_type, r.headers, box_->keep_alive && !box_->life->stopping);
      box_->bytes += "Content-Length: ";
      box_->bytes += std::to_string(r.body.size());
      box_->bytes += "\r\n\r\n";
      box_->bytes += r.body;
      return true;
    });
  }

  void begin_stream(std::string content_type, HttpHeaders headers, int status) override {
    box_->push([&] {
      if (box_->answered) return false;
      box_->answered = true;
      box_->bytes += head(status, content_type, headers, box_->keep_alive && !box_->life->stopping);
      box_->bytes += "Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n";
      return true;
    });
  }

  void write(std::string chunk) override {
    if (chunk.empty()) return;  // an empty chunk would end the response
    box_->push([&] {
      if (!box_->answered) return false;
      append_chunk(box_->bytes, chunk);
      return true;
    });
  }

  void finish() override {
    box_->push([&] {
      if (!box_->answered) return false;
      box_->bytes += "0\r\n\r\n";
      box_->complete = true;
      return true;
    });
  }

  bool closed() const override {
    if (box_->life->cut) return true;
    {
      std::lock_guard lock(box_->mu);
      if (box_->closed) return true;
    }
    std::shared_lock alive(box_->life->mu);
    return !box_->life->alive;
  }

  void on_close(std::function<void()> fn) override {
    {
      std::lock_guard lock(box_->mu);
      if (!box_->closed) {
        box_->on_close = std::move(fn);
        return;
      }
      if (box_->complete) return;
    }
    fn();
  }

 private:
  std::shared_ptr<Outbox> box_;
  std::shared_ptr<const ErrorFn> error_response_;  // shared: a Responder may outlive the server
};

HttpResponse default_error(int status, std::string_view message) {
  std::string body = "{\"error\": \"";
  for (char c : message) {
    if (c == '"' || c == '\\') body += '\\';
    if (static_cast<unsigned char>(c) >= 0x20) body += c;
  }
  body += "\"}";
  return HttpResponse{status, "application/json", {}, std::move(body)};
}

// Whether a client still waits for its answer, asked without consuming
// anything: bytes waiting are its next (pipelined) request; end of stream or
// an error means it is gone.
enum class ClientState { waiting, sent_more, gone };

ClientState peek_client(tcp::socket& socket) {
  char c;
  const ssize_t n = ::recv(socket.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n > 0) return ClientState::sent_more;
  if (n == 0) return ClientState::gone;
  return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? ClientState::waiting : ClientState::gone;
}

// Watches a connection while its request is being answered, so a client
// that hangs up stops the work for it (Responder::on_close) instead of
// paying for an answer nobody reads. Runs on the session's strand;
// `watching` is cleared there when the answer ends, before the socket can
// go away, so a wait that completes late touches nothing.
void watch_client(tcp::socket& socket, std::shared_ptr<Outbox> box, std::shared_ptr<Waker> waker,
                  std::shared_ptr<bool> watching) {
  socket.async_wait(tcp::socket::wait_read, [&socket, box, waker, watching](error_code ec) mutable {
    if (ec || !*watching) return;
    switch (peek_client(socket)) {
      case ClientState::waiting: return watch_client(socket, std::move(box), std::move(waker), std::move(watching));
      case ClientState::sent_more: return;  // its next request: read after this answer
      case ClientState::gone:
        box->close();
        waker->timer.cancel();  // wakes the session if it is parked on its answer
        return;
    }
  });
}

class GatewayServerImpl final : public GatewayServer {
 public:
  GatewayServerImpl(GatewayServerOptions o, Handler h)
      : opts_(std::move(o)),
        handler_(std::move(h)),
        ioc_(std::make_unique<net::io_context>(static_cast<int>(std::max(1u, opts_.threads)))),
        life_(std::make_shared<Life>()) {
    if (opts_.threads <= 1) mark_run_by_one_thread(*ioc_);
    if (!opts_.error_response) opts_.error_response = default_error;
    error_response_ = std::make_shared<const ErrorFn>(opts_.error_response);
  }

  ~GatewayServerImpl() override { shutdown(); }

  Expected<void> listen() {
    auto acceptor = open_tcp_listener(serial_executor(ioc_->get_executor()), opts_.address, opts_.port, "gateway");
    if (!acceptor) return Unexpected(acceptor.error());
    acceptor_.emplace(std::move(*acceptor));
    port_ = acceptor_->local_endpoint().port();
    net::co_spawn(acceptor_->get_executor(), accept_loop(), net::detached);
    for (unsigned i = 0; i < std::max(1u, opts_.threads); ++i)
      threads_.emplace_back([this] { run_io_thread(*ioc_, opts_.busy_poll); });
    return {};
  }

  uint16_t port() const override { return port_; }
  net::any_io_executor executor() const { return ioc_->get_executor(); }
  std::size_t open_connections() const override { return open_.load(); }
  std::size_t requests_in_flight() const override { return in_flight_.load(); }

  std::size_t stop(std::chrono::milliseconds grace) override {
    if (stopping_.exchange(true)) return 0;
    life_->stopping = true;
    net::post(acceptor_->get_executor(), [this] {
      error_code ignored;
      acceptor_->close(ignored);
    });
    close_idle_sessions();
    const auto deadline = Clock::now() + grace;
    std::unique_lock lock(sessions_mu_);
    // Sessions end themselves once their last answer is written (stopping_
    // turns keep-alive off); each end notifies.
    sessions_cv_.wait_until(lock, deadline, [this] { return sessions_.empty(); });
    const std::size_t cut = in_flight_.load();
    // Cut the rest: close their sockets and wake the sessions waiting for an
    // answer, which then end. The I/O threads keep running until the
    // destructor, so an engine sharing them (gateway_executor) can still
    // finish and tear down its own I/O first.
    life_->cut = true;
    for (auto& s : sessions_) {
      net::post(s->strand, [s] {
        error_code ignored;
        if (s->stream) s->stream->socket().close(ignored);
        if (s->waker) s->waker->timer.cancel();
      });
    }
    sessions_cv_.wait_until(lock, Clock::now() + std::chrono::seconds(5), [this] { return sessions_.empty(); });
    return cut;
  }

 private:
  // What stop() needs to reach a session: its strand, and its socket while
  // it waits for the next request.
  struct SessionCtl {
    Strand strand;
    beast::tcp_stream* stream = nullptr;  // on the strand only
    Waker* waker = nullptr;               // on the strand only
    bool idle = true;                     // waiting for a request's first byte; on the strand
  };

  void shutdown() {
    {
      std::unique_lock lock(life_->mu);
      if (!life_->alive) return;
      life_->alive = false;
    }
    ioc_->stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
    acceptor_.reset();
    ioc_.reset();  // destroys suspended sessions and their sockets
  }

  void close_idle_sessions() {
    std::lock_guard lock(sessions_mu_);
    for (auto& s : sessions_) {
      net::post(s->strand, [s] {
        if (s->idle && s->stream) s->stream->socket().close();
      });
    }
  }

  net::awaitable<void> accept_loop() {
    for (;;) {
      auto strand = serial_executor(ioc_->get_executor());
      auto [ec, socket] = co_await acceptor_->async_accept(strand, kNoThrow);
      if (ec == net::error::operation_aborted || !acceptor_->is_open()) co_return;
      if (ec) {  // out of descriptors: back off instead of spinning
        net::steady_timer t(acceptor_->get_executor(), std::chrono::milliseconds(10));
        co_await t.async_wait(kNoThrow);
        continue;
      }
      if (open_.load() >= opts_.max_connections) {
        net::co_spawn(strand, refuse(std::move(socket)), net::detached);
        continue;
      }
      ++open_;
      auto ctl = std::make_shared<SessionCtl>(SessionCtl{strand});
      {
        std::lock_guard lock(sessions_mu_);
        sessions_.push_back(ctl);
      }
      net::co_spawn(strand, session(std::move(socket), ctl), net::detached);
    }
  }

  // Over the connection limit: a short 503, then close.
  net::awaitable<void> refuse(tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    const HttpResponse r = opts_.error_response(503, "too many connections to the gateway; retry later");
    std::string out = head(r.status, r.content_type, r.headers, false);
    out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n\r\n" + r.body;
    stream.expires_after(opts_.write_timeout);
    co_await net::async_write(stream, net::buffer(out), kNoThrow);
    error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  void end_session(const std::shared_ptr<SessionCtl>& ctl) {
    ctl->stream = nullptr;
    ctl->waker = nullptr;
    std::lock_guard lock(sessions_mu_);
    sessions_.remove(ctl);
    --open_;
    sessions_cv_.notify_all();
  }

  net::awaitable<void> session(tcp::socket socket, std::shared_ptr<SessionCtl> ctl) {
    struct End {
      GatewayServerImpl* self;
      std::shared_ptr<SessionCtl> ctl;
      ~End() { self->end_session(ctl); }
    } end{this, ctl};
    error_code ec;
    socket.set_option(tcp::no_delay(true), ec);
    beast::tcp_stream stream(std::move(socket));
    ctl->stream = &stream;
    const auto waker = std::make_shared<Waker>(ctl->strand);
    ctl->waker = waker.get();
    beast::flat_buffer buffer;
    while (!stopping_.load()) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(opts_.max_body_bytes);
      parser.header_limit(static_cast<std::uint32_t>(opts_.max_header_bytes));
      stream.expires_after(opts_.read_timeout);
      ctl->idle = buffer.size() == 0;
      if (ctl->idle) {
        // Wait for the first byte as "idle" (stop() may close us), then
        // read the rest as busy: a request once begun is served.
        auto [rec, n] = co_await stream.async_read_some(buffer.prepare(std::size_t{16} * 1024), kNoThrow);
        if (rec) co_return;
        buffer.commit(n);
        ctl->idle = false;
      }
      auto [rec, n] = co_await http::async_read(stream, buffer, parser, kNoThrow);
      if (rec) {
        if (rec == http::error::body_limit) {
          co_await send_error(stream, 413, "request body over " + std::to_string(opts_.max_body_bytes) + " bytes");
        } else if (rec == http::error::header_limit) {
          co_await send_error(stream, 431, "request headers too large");
        } else if (rec != net::error::eof && rec != beast::error::timeout && rec != net::error::connection_reset &&
                   rec != net::error::operation_aborted) {
          co_await send_error(stream, 400, "malformed HTTP request: " + rec.message());
        }
        co_return;
      }
      ++in_flight_;
      const bool keep = co_await answer(stream, waker, parser.release(), buffer.size() > 0);
      --in_flight_;
      if (!keep) break;
    }
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  net::awaitable<void> send_error(beast::tcp_stream& stream, int status, std::string message) {
    const HttpResponse r = opts_.error_response(status, message);
    std::string out = head(r.status, r.content_type, r.headers, false);
    out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n\r\n" + r.body;
    stream.expires_after(opts_.write_timeout);
    co_await net::async_write(stream, net::buffer(out), kNoThrow);
  }

  // Hands the request to the handler and writes its answer as it comes.
  // Returns whether the connection stays open for another request.
  // `pipelined`: the client's next request is already read, so its hanging
  // up cannot be seen until this answer is written.
  net::awaitable<bool> answer(beast::tcp_stream& stream, const std::shared_ptr<Waker>& waker,
                              http::request<http::string_body> msg, bool pipelined) {
    auto box = std::make_shared<Outbox>(life_, waker);
    box->keep_alive = msg.keep_alive() && !stopping_.load();
    box->backlog_limit = opts_.max_stream_backlog_bytes;

    HttpRequest req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    req.headers.reserve(8);
    for (const auto& f : msg) {
      std::string name(f.name_string());
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
      req.headers.emplace_back(std::move(name), std::string(f.value()));
    }
    req.body = std::move(msg.body());
    handler_(std::move(req), std::make_shared<ResponderImpl>(box, error_response_));

    // An answer still owed (the usual case: the engine works
    // asynchronously) is worth watching the client for.
    struct StopWatching {
      tcp::socket& socket;
      std::shared_ptr<bool> watching;
      ~StopWatching() {
        if (!watching) return;
        *watching = false;
        error_code ignored;
        socket.cancel(ignored);  // the only operation pending on it is the watch
      }
    } stop_watching{stream.socket(), nullptr};
    bool owed;
    {
      std::lock_guard lock(box->mu);
      owed = !box->complete && !box->closed;
    }
    if (owed && !pipelined) {
      stop_watching.watching = std::make_shared<bool>(true);
      watch_client(stream.socket(), box, waker, stop_watching.watching);
      // A client that hung up before the watch began shows no new event.
      if (peek_client(stream.socket()) == ClientState::gone) box->close();
    }

    std::string out;
    auto deadline = Clock::now() + opts_.response_timeout;
    for (;;) {
      bool complete = false, closed = false, answered = false;
      {
        std::lock_guard lock(box->mu);
        out.swap(box->bytes);
        complete = box->complete;
        closed = box->closed;
        answered = box->answered;
        if (out.empty() && !complete && !closed) {
          box->parked = true;
          waker->timer.expires_at(deadline);
        }
      }
      if (closed || life_->cut) co_return false;  // a backlog overflow, or stop() cut it
      if (!out.empty()) {
        stream.expires_after(opts_.write_timeout);
        auto [ec, n] = co_await net::async_write(stream, net::buffer(out), kNoThrow);
        out.clear();
        if (ec) {
          box->close();
          co_return false;
        }
        deadline = Clock::now() + opts_.response_timeout;
        continue;
      }
      if (complete) co_return box->keep_alive && !stopping_.load();
      auto [ec] = co_await waker->timer.async_wait(kNoThrow);
      if (ec == net::error::operation_aborted || Clock::now() < deadline) continue;  // woken: more to write
      std::function<void()> gone;
      {
        std::lock_guard lock(box->mu);
        if (!box->bytes.empty() || box->complete) continue;  // arrived with the deadline
        box->parked = false;
        gone = box->close_locked();  // later output from the handler is dropped
      }
      if (gone) gone();
      if (!answered) co_await send_error(stream, 504, "no answer from upstream within the gateway's response timeout");
      co_return false;  // a silent stream is cut: the client sees it end early
    }
  }

  GatewayServerOptions opts_;
  Handler handler_;
  std::unique_ptr<net::io_context> ioc_;
  std::shared_ptr<Life> life_;
  std::shared_ptr<const ErrorFn> error_response_;
  std::optional<tcp::acceptor> acceptor_;
  std::vector<std::thread> threads_;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> open_{0}, in_flight_{0};

  std::mutex sessions_mu_;
  std::condition_variable sessions_cv_;
  std::list<std::shared_ptr<SessionCtl>> sessions_;  // guarded by sessions_mu_
};

}  // namespace

boost::asio::any_io_executor gateway_executor(GatewayServer& server) {
  return static_cast<GatewayServerImpl&>(server).executor();
}

Expected<std::unique_ptr<GatewayServer>> GatewayServer::start(GatewayServerOptions options, Handler handler) {
  auto server = std::make_unique<GatewayServerImpl>(std::move(options), std::move(handler));
  if (auto ok = server->listen(); !ok) return Unexpected(ok.error());
  return std::unique_ptr<GatewayServer>(std::move(server));
}

}  // namespace tollgate::adapters
