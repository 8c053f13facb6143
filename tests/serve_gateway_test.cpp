// The gateway's HTTP transport (server/gateway_server.hpp): answers now or
// later from any thread, streams, its own error answers, bounds, a client
// hanging up, and a graceful stop. All tagged [concurrency]: the TSan build
// runs them (answers cross threads).
#include <catch2/catch.hpp>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "server/gateway_server.hpp"
#include "tests/serve_support.hpp"
#include "tests/test_support.hpp"

using namespace tollgate::adapters;
using tollgate::testing::RawClient;
using namespace std::chrono_literals;

namespace {

// Hands each request's Responder to the test, which answers when it likes.
struct Parked {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<HttpRequest, std::shared_ptr<Responder>>> items;

  Handler handler() {
    return [this](HttpRequest req, std::shared_ptr<Responder> out) {
      std::lock_guard lock(mu);
      items.emplace_back(std::move(req), std::move(out));
      cv.notify_all();
    };
  }
  std::pair<HttpRequest, std::shared_ptr<Responder>> take() {
    std::unique_lock lock(mu);
    REQUIRE(cv.wait_for(lock, 30s, [&] { return !items.empty(); }));
    auto item = std::move(items.front());
    items.erase(items.begin());
    return item;
  }
};

std::unique_ptr<GatewayServer> start(Handler h, GatewayServerOptions o = {}) {
  auto s = GatewayServer::start(std::move(o), std::move(h));
  REQUIRE(s.ok());
  return std::move(*s);
}

}  // namespace

TEST_CASE("gateway server: a request and its answer, twice on one connection", "[concurrency]") {
  auto server = start([](HttpRequest req, std::shared_ptr<Responder> out) {
    out->respond({200, "text/plain", {{"x-echo-path", std::string(req.path())}},
                  req.method + " " + std::string(req.query()) + " " + std::string(req.header("x-custom")) + " " + req.body});
  });
  RawClient c(server->port());
  REQUIRE(c.connected());
  auto r = c.request("POST", "/v1/x?team=a", "hello", "X-Custom: Yes\r\n");
  CHECK(r.status == 200);
  CHECK(r.body == "POST team=a Yes hello");
  CHECK(RawClient::header(r.head, "x-echo-path") == "/v1/x");
  CHECK(RawClient::header(r.head, "Content-Type") == "text/plain");
  auto again = c.request("GET", "/two");
  CHECK(again.status == 200);
  CHECK(again.body == "GET   ");
}

TEST_CASE("gateway server: an answer from another thread, later", "[concurrency]") {
  Parked parked;
  auto server = start(parked.handler());
  RawClient c(server->port());
  c.send("GET", "/later");
  auto [req, out] = parked.take();
  CHECK(server->requests_in_flight() == 1);
  std::thread([out = out] { out->respond({201, "application/json", {}, "{\"ok\":true}"}); }).join();
  auto r = c.read_response();
  CHECK(r.status == 201);
  CHECK(r.body == "{\"ok\":true}");
}

TEST_CASE("gateway server: a stream written from another thread arrives whole and in order", "[concurrency]") {
  Parked parked;
  auto server = start(parked.handler());
  RawClient c(server->port());
  c.send("POST", "/stream", "{}");
  auto [req, out] = parked.take();
  std::thread writer([out = out] {
    out->begin_stream("text/event-stream");
    for (int i = 0; i < 100; ++i) out->write("data: " + std::to_string(i) + "\n\n");
    out->finish();
    out->write("after the end is dropped");
  });
  auto r = c.read_response();
  writer.join();
  CHECK(r.status == 200);
  CHECK(RawClient::header(r.head, "Content-Type") == "text/event-stream");
  std::string expected;
  for (int i = 0; i < 100; ++i) expected += "data: " + std::to_string(i) + "\n\n";
  CHECK(r.body == expected);
  CHECK_FALSE(out->closed());
}

TEST_CASE("gateway server: a client that hangs up while its answer is owed fires on_close once", "[concurrency]") {
  Parked parked;
  auto server = start(parked.handler());
  auto c = std::make_unique<RawClient>(server->port());
  c->send("POST", "/slow", "{}");
  auto [req, out] = parked.take();
  std::promise<void> fired;
  std::atomic<int> calls{0};
  out->on_close([&] {
    if (++calls == 1) fired.set_value();
  });
  CHECK_FALSE(out->closed());
  c->hang_up();
  REQUIRE(fired.get_future().wait_for(30s) == std::future_status::ready);
  CHECK(out->closed());
  // Registered after the client left: runs at once.
  bool late = false;
  out->on_close([&] { late = true; });
  CHECK(late);
  out->respond({200, "text/plain", {}, "nobody reads this"});  // dropped, and fires nothing more
  CHECK(calls == 1);
  REQUIRE(tollgate::testing::eventually([&] { return server->open_connections() == 0; }));
}

TEST_CASE("gateway server: an answered request and pipelined requests never fire on_close", "[concurrency]") {
  Parked parked;
  auto server = start(parked.handler());
  RawClient c(server->port());
  std::atomic<int> fired{0};
  // Two requests in one write: the second is read while the first waits.
  c.send_raw("GET /one HTTP/1.1\r\nHost: test\r\n\r\nGET /two HTTP/1.1\r\nHost: test\r\n\r\n");
  for (const char* path : {"/one", "/two"}) {
    auto [req, out] = parked.take();
    CHECK(req.path() == path);
    out->on_close([&] { ++fired; });
    out->respond({200, "text/plain", {}, path});
    auto r = c.read_response();
    CHECK(r.status == 200);
    CHECK(r.body == path);
    CHECK_FALSE(out->closed());
  }
  // The connection stays usable, and a later request on it is watched too.
  c.send("GET", "/three");
  auto [req, out] = parked.take();
  out->on_close([&] { ++fired; });
  out->respond({200, "text/plain", {}, "three"});
  CHECK(c.read_response().body == "three");
  CHECK(fired == 0);
}

TEST_CASE("gateway server: a handler that drops its Responder answers 500", "[concurrency]") {
  auto server = start([](HttpRequest, std::shared_ptr<Responder>) {});
  RawClient c(server->port());
  auto r = c.request("GET", "/");
  CHECK(r.status == 500);
  CHECK(r.body.find("without an answer") != std::string::npos);
}

TEST_CASE("gateway server: its own errors go through error_response", "[concurrency]") {
  GatewayServerOptions o;
  o.max_body_bytes = 1000;
  o.response_timeout = 200ms;
  o.error_response = [](int status, std::string_view message) {
    return HttpResponse{status, "application/json", {}, "E" + std::to_string(status) + ":" + std::string(message)};
  };
  Parked parked;
  auto server = start(parked.handler(), o);

  SECTION("a body over the limit is 413") {
    RawClient c(server->port());
    auto r = c.request("POST", "/", std::string(5000, 'x'));
    CHECK(r.status == 413);
    CHECK(r.body.rfind("E413:", 0) == 0);
  }
  SECTION("malformed HTTP is 400") {
    RawClient c(server->port());
    auto r = c.request("NOT A METHOD", "/");
    CHECK(r.status == 400);
  }
  SECTION("no answer within response_timeout is 504, and a late answer is dropped") {
    RawClient c(server->port());
    c.send("GET", "/slow");
    auto [req, out] = parked.take();
    auto r = c.read_response();
    CHECK(r.status == 504);
    CHECK(out->closed());
    out->respond({200, "text/plain", {}, "too late"});
  }
}

TEST_CASE("gateway server: connections beyond the limit get 503", "[concurrency]") {
  GatewayServerOptions o;
  o.max_connections = 2;
  Parked parked;
  auto server = start(parked.handler(), o);
  RawClient a(server->port()), b(server->port());
  a.send("GET", "/a");
  b.send("GET", "/b");
  parked.take();
  parked.take();
  RawClient third(server->port());
  auto r = third.request("GET", "/c");
  CHECK(r.status == 503);
}

TEST_CASE("gateway server: stop() lets the request in flight finish, then refuses new ones", "[concurrency]") {
  Parked parked;
  auto server = start(parked.handler());
  const uint16_t port = server->port();
  RawClient busy(port), idle(port);
  REQUIRE(idle.connected());
  busy.send("GET", "/in-flight");
  auto [req, out] = parked.take();

  auto stopped = std::async(std::launch::async, [&] { return server->stop(30s); });
  // The idle keep-alive connection is closed by the stop.
  CHECK(idle.read_response().closed);
  out->respond({200, "text/plain", {}, "finished"});
  auto r = busy.read_response();
  CHECK(r.status == 200);
  CHECK(r.body == "finished");
  CHECK(RawClient::header(r.head, "Connection") == "close");
  CHECK(stopped.get() == 0);
  RawClient late(port);
  CHECK_FALSE(late.connected());
}

TEST_CASE("gateway server: stop() cuts what is still unanswered at the deadline", "[concurrency]") {
  Parked parked;
  auto server = start(parked.handler());
  RawClient c(server->port());
  c.send("GET", "/never");
  auto [req, out] = parked.take();
  CHECK(server->stop(50ms) == 1);
  CHECK(c.read_response().closed);
  CHECK(out->closed());  // the transport is gone: writes are dropped
  out->respond({200, "text/plain", {}, "nobody hears this"});
}

TEST_CASE("gateway server: busy-polling I/O threads answer now and later and stop cleanly", "[concurrency]") {
  GatewayServerOptions o;
  o.threads = 2;
  o.busy_poll = 500us;
  Parked parked;
  auto server = start(parked.handler(), o);
  RawClient a(server->port()), b(server->port());
  for (int round = 0; round < 3; ++round) {
    a.send("GET", "/a");
    b.send("GET", "/b");
    for (int i = 0; i < 2; ++i) {
      auto [req, out] = parked.take();
      // From another thread, as the engine answers: the polling loop must
      // run the handlers that answer posts to it.
      std::thread([out = out, path = std::string(req.path())] {
        out->respond({200, "text/plain", {}, "answer to " + path});
      }).join();
    }
    CHECK(a.read_response().body == "answer to /a");
    CHECK(b.read_response().body == "answer to /b");
  }
  CHECK(server->stop(30s) == 0);
  server.reset();  // joins the polling threads
}
