// A PostgreSQL 15 server of the test's own: initdb into a temporary
// directory, started on a Unix socket in that directory (no TCP port, so
// parallel test binaries never collide), stopped when the fixture goes.
//
// PostgreSQL refuses to run as root; a root test runs initdb and pg_ctl as
// the `postgres` user (the Debian package creates it) on a directory handed
// to that user. pg_ctl -w returns once the server accepts connections, so
// nothing here sleeps. The server runs without fsync: its data is thrown
// away with the directory.
#pragma once

#include <pwd.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/ledger/pg/pg_conn.hpp"

extern char** environ;

namespace tollgate::testing {

inline constexpr const char* kPgBin = "/usr/lib/postgresql/15/bin";

// A directory under /tmp, whatever TMPDIR says: the postgres user must be
// able to reach it, and a Unix socket's path must stay under 108 bytes.
class PgDir {
 public:
  PgDir() {
    char name[] = "/tmp/tollgate-pg-XXXXXX";
    if (!::mkdtemp(name)) throw std::runtime_error("cannot make a directory in /tmp");
    path_ = name;
  }
  ~PgDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  PgDir(const PgDir&) = delete;
  PgDir& operator=(const PgDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

class PgServer {
 public:
  PgServer() {
    if (::geteuid() == 0) {
      const passwd* pw = ::getpwnam("postgres");
      if (!pw) throw std::runtime_error("no 'postgres' user: apt-get install -y postgresql");
      as_postgres_ = {"/usr/sbin/runuser", "-u", "postgres", "--"};
      if (::chown(dir_.path().c_str(), pw->pw_uid, pw->pw_gid) != 0)
        throw std::runtime_error("cannot hand " + dir_.path().string() + " to postgres");
    }
    run({std::string(kPgBin) + "/initdb", "-D", data(), "--auth=trust", "-U", "postgres",
         "--no-locale", "-E", "UTF8", "--no-sync"},
        "initdb");
    start();
  }
  ~PgServer() {
    try {
      stop();
    } catch (...) {  // a destructor must not throw; the directory goes anyway
    }
  }
  PgServer(const PgServer&) = delete;
  PgServer& operator=(const PgServer&) = delete;

  void start() {
    if (running_) return;
    run({std::string(kPgBin) + "/pg_ctl", "-D", data(), "-l", dir_.file("server.log"), "-w",
         "-o",
         "-k " + dir_.path().string() + " -p " + std::to_string(kPort) +
             " -c listen_addresses='' -c fsync=off -c synchronous_commit=off"
             " -c full_page_writes=off",
         "start"},
        "pg_ctl start");
    running_ = true;
  }
  // Fast shutdown: sessions are ended at once, as when a server goes down.
  void stop() {
    if (!running_) return;
    run({std::string(kPgBin) + "/pg_ctl", "-D", data(), "-m", "fast", "-w", "stop"}, "pg_ctl stop");
    running_ = false;
  }

  std::string conninfo(const std::string& dbname = "postgres") const {
    return "host=" + dir_.path().string() + " port=" + std::to_string(kPort) +
           " user=postgres dbname=" + dbname;
  }
  std::string socket_dir() const { return dir_.path().string(); }
  int port() const { return kPort; }

  // A new, empty database on this server: each test gets its own.
  std::string fresh_database() {
    static std::atomic<int> counter{0};
    const std::string name = "t" + std::to_string(counter++);
    auto conn = engine::pg::Conn::connect(conninfo(), {});
    if (!conn) throw std::runtime_error(conn.error().message());
    if (auto r = conn->script("creating a test database", "CREATE DATABASE " + name); !r)
      throw std::runtime_error(r.error().message());
    return conninfo(name);
  }

 private:
  static constexpr int kPort = 5432;  // the socket file lives in our own directory

  std::string data() const { return dir_.file("data"); }

  // Runs a PostgreSQL tool (as postgres when we are root), its output in a
  // log whose tail is the exception's message when it fails.
  void run(const std::vector<std::string>& command, const std::string& what) {
    std::vector<std::string> argv = as_postgres_;
    argv.insert(argv.end(), command.begin(), command.end());
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    const std::string log = dir_.file("tool.log");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    pid_t pid = 0;
    const int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    int status = 0;
    if (rc != 0 || ::waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
      std::ifstream in(log);
      std::stringstream text;
      text << in.rdbuf();
      throw std::runtime_error(what + " failed (is the postgresql package installed?): " +
                               text.str());
    }
  }

  PgDir dir_;
  std::vector<std::string> as_postgres_;
  bool running_ = false;
};

// One server for a whole test binary, started on first use: initdb costs a
// second or two, a database per test almost nothing.
inline PgServer& shared_pg_server() {
  static PgServer server;
  return server;
}

}  // namespace tollgate::testing
