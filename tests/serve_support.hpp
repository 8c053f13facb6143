// A blocking HTTP/1.1 client on POSIX sockets for the gateway server's
// tests: enough to send a request and read one response (Content-Length or
// chunked). Generous socket timeouts stand in for deadlines.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

namespace tollgate::testing {

struct RawResponse {
  int status = 0;
  std::string head;  // status line and headers
  std::string body;  // de-chunked
  bool closed = false;  // the server closed instead of answering
};

class RawClient {
 public:
  explicit RawClient(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{30, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~RawClient() { hang_up(); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool connected() const { return connected_; }

  void send(const std::string& method, const std::string& target, const std::string& body = "",
            const std::string& extra_headers = "") {
    send_raw(method + " " + target + " HTTP/1.1\r\nHost: test\r\n" + extra_headers +
             "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body);
  }

  RawResponse read_response() {
    RawResponse r;
    std::size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos)
      if (!fill()) return r.closed = true, r;
    r.head = buf_.substr(0, end + 2);
    buf_.erase(0, end + 4);
    r.status = std::stoi(r.head.substr(9, 3));
    if (auto cl = header(r.head, "Content-Length"); !cl.empty()) {
      const auto n = std::stoul(cl);
      while (buf_.size() < n)
        if (!fill()) return r.closed = true, r;
      r.body = buf_.substr(0, n);
      buf_.erase(0, n);
    } else if (header(r.head, "Transfer-Encoding") == "chunked") {
      for (;;) {
        std::size_t nl;
        while ((nl = buf_.find("\r\n")) == std::string::npos)
          if (!fill()) return r.closed = true, r;
        const auto size = std::stoul(buf_.substr(0, nl), nullptr, 16);
        while (buf_.size() < nl + 2 + size + 2)
          if (!fill()) return r.closed = true, r;
        r.body += buf_.substr(nl + 2, size);
        buf_.erase(0, nl + 2 + size + 2);
        if (size == 0) break;
      }
    }
    return r;
  }

  RawResponse request(const std::string& method, const std::string& target, const std::string& body = "",
                      const std::string& extra_headers = "") {
    send(method, target, body, extra_headers);
    return read_response();
  }

  // Closes the connection, as a client that gives up on its answer does.
  void hang_up() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  // Sends raw bytes (several requests at once, to test pipelining).
  void send_raw(const std::string& bytes) {
    std::size_t off = 0;
    while (off < bytes.size()) {
      const ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return;
      off += static_cast<std::size_t>(n);
    }
  }

  static std::string header(const std::string& head, const std::string& name) {
    const auto at = head.find("\r\n" + name + ": ");
    if (at == std::string::npos) return {};
    const auto start = at + name.size() + 4;
    return head.substr(start, head.find("\r\n", start) - start);
  }

 private:
  bool fill() {
    char chunk[16384];
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buf_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  std::string buf_;
};

}  // namespace tollgate::testing
