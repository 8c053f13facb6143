#include "engine/ledger/pg/pg_conn.hpp"

#include <libpq-fe.h>

#include <charconv>
#include <string>
#include <utility>
#include <vector>

namespace tollgate::engine::pg {
namespace {

// Type oids of the parameters we bind, so the server never has to guess
// ("could not determine data type of parameter $5" for `$5 + $6`).
constexpr Oid kInt8Oid = 20;
constexpr Oid kTextOid = 25;

bool is_url(std::string_view s) {
  return s.starts_with("postgresql://") || s.starts_with("postgres://");
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// A URL's password sits in its userinfo (user:secret@host) or in its query
// (?password=secret); both are masked.
std::string redact_url(std::string_view url) {
  const size_t scheme_end = url.find("://") + 3;
  size_t authority_end = url.find_first_of("/?", scheme_end);
  if (authority_end == std::string_view::npos) authority_end = url.size();
  std::string out(url.substr(0, scheme_end));
  const std::string_view authority = url.substr(scheme_end, authority_end - scheme_end);
  const size_t at = authority.rfind('@');
  if (at != std::string_view::npos) {
    const std::string_view userinfo = authority.substr(0, at);
    const size_t colon = userinfo.find(':');
    out += colon == std::string_view::npos ? userinfo : userinfo.substr(0, colon + 1);
    if (colon != std::string_view::npos) out += "***";
    out += authority.substr(at);
  } else {
    out += authority;
  }
  std::string_view rest = url.substr(authority_end);
  const size_t query = rest.find('?');
  out += rest.substr(0, query);
  if (query == std::string_view::npos) return out;
  out += '?';
  rest.remove_prefix(query + 1);
  bool first = true;
  while (true) {
    const size_t amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    if (!first) out += '&';
    first = false;
    out += pair.starts_with("password=") ? std::string_view("password=***") : pair;
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  return out;
}

// key=value pairs, values bare or single-quoted with backslash escapes, as
// libpq reads them. A value of `password` is masked; a `dbname` holding a
// whole connection string is redacted in turn.
std::string redact_pairs(std::string_view s) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_space(s[i])) ++i;
    if (i >= s.size()) break;
    const size_t key_start = i;
    while (i < s.size() && s[i] != '=' && !is_space(s[i])) ++i;
    const std::string_view key = s.substr(key_start, i - key_start);
    while (i < s.size() && is_space(s[i])) ++i;
    if (i >= s.size() || s[i] != '=') {  // not a pair: keep the rest as it is
      if (!out.empty()) out += ' ';
      out += s.substr(key_start);
      break;
    }
    ++i;
    while (i < s.size() && is_space(s[i])) ++i;
    const size_t value_start = i;
    std::string value;  // unescaped
    if (i < s.size() && s[i] == '\'') {
      for (++i; i < s.size() && s[i] != '\''; ++i) {
        if (s[i] == '\\' && i + 1 < s.size()) ++i;
        value += s[i];
      }
      if (i < s.size()) ++i;
    } else {
      for (; i < s.size() && !is_space(s[i]); ++i) {
        if (s[i] == '\\' && i + 1 < s.size()) ++i;
        value += s[i];
      }
    }
    if (!out.empty()) out += ' ';
    out += key;
    out += '=';
    if (key == "password") {
      out += "***";
    } else if (key == "dbname" && (is_url(value) || value.find('=') != std::string::npos)) {
      out += '\'' + redact_conninfo(value) + '\'';
    } else {
      out += s.substr(value_start, i - value_start);
    }
  }
  return out;
}

// libpq's messages end in a newline and continue on tab-indented lines
// ("\n\tIs the server running locally...?"): one line, single spaces.
std::string trimmed(const char* message) {
  std::string s;
  for (const char* p = message ? message : ""; *p; ++p) {
    if (!is_space(*p)) {
      s += *p;
    } else if (!s.empty() && s.back() != ' ') {
      s += ' ';
    }
  }
  if (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

// The password a connection string carries, to scrub it from messages that
// might quote it. Empty when there is none or the string does not parse.
std::string password_of(const std::string& conninfo) {
  char* err = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &err);
  if (err) PQfreemem(err);
  std::string password;
  for (PQconninfoOption* o = options; o && o->keyword; ++o) {
    if (std::string_view(o->keyword) == "password" && o->val) password = o->val;
  }
  if (options) PQconninfoFree(options);
  return password;
}

// What to do about a failure, by SQLSTATE (PostgreSQL's error codes).
std::string_view advice(std::string_view sqlstate) {
  if (sqlstate.empty() || sqlstate.starts_with("08") || sqlstate.starts_with("57P"))
    return "check that the PostgreSQL server is running and reachable; tollgate reconnects at "
           "the next call";
  if (sqlstate == "57014")
    return "the statement ran past the session's statement_timeout: the server is overloaded "
           "or another session holds a lock too long";
  if (sqlstate.starts_with("28"))
    return "check the user and password of the connection string and the server's "
           "pg_hba.conf";
  if (sqlstate == "3D000") return "create the database, or fix dbname in the connection string";
  if (sqlstate == "42501") return "grant the connection's user the rights on tollgate's tables";
  if (sqlstate == "53100") return "the server's disk is full; free space on it";
  if (sqlstate == "53300") return "the server has no free connection slots; raise max_connections";
  return "";
}

void ignore_notice(void*, const char*) {}

}  // namespace

std::string redact_conninfo(std::string_view conninfo) {
  return is_url(conninfo) ? redact_url(conninfo) : redact_pairs(conninfo);
}

// --- Rows ---

Rows::Rows(Rows&& other) noexcept : result_(std::exchange(other.result_, nullptr)) {}

Rows& Rows::operator=(Rows&& other) noexcept {
  if (this != &other) {
    if (result_) PQclear(result_);
    result_ = std::exchange(other.result_, nullptr);
  }
  return *this;
}

Rows::~Rows() {
  if (result_) PQclear(result_);
}

int Rows::size() const { return PQntuples(result_); }

bool Rows::is_null(int row, int column) const { return PQgetisnull(result_, row, column) != 0; }

std::string_view Rows::text(int row, int column) const {
  return std::string_view(PQgetvalue(result_, row, column),
                          static_cast<size_t>(PQgetlength(result_, row, column)));
}

int64_t Rows::integer(int row, int column) const {
  const std::string_view s = text(row, column);
  int64_t v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

int64_t Rows::affected() const {
  const char* s = PQcmdTuples(result_);
  int64_t v = 0;
  std::from_chars(s, s + std::char_traits<char>::length(s), v);
  return v;
}

// --- Conn ---

Result<Conn> Conn::connect(const std::string& conninfo, Options options) {
  std::string where = redact_conninfo(conninfo);
  {
    char* err = nullptr;
    PQconninfoOption* parsed = PQconninfoParse(conninfo.c_str(), &err);
    if (!parsed) {
      std::string why = err ? trimmed(err) : "out of memory";
      if (err) PQfreemem(err);
      return Error(ErrorCategory::ledger,
                   "the PostgreSQL connection string '" + where + "' does not parse: " + why +
                       "; write it as postgresql://user:password@host:port/dbname or as "
                       "libpq's key=value pairs");
    }
    PQconninfoFree(parsed);
  }
  // Keywords before the expanded connection string are defaults it may
  // override (libpq reads the arrays left to right, last value wins).
  const std::string timeout = std::to_string(options.connect_timeout_s);
  const char* keywords[] = {"connect_timeout", "fallback_application_name", "dbname", nullptr};
  const char* values[] = {timeout.c_str(), "tollgate", conninfo.c_str(), nullptr};
  PGconn* raw = PQconnectdbParams(keywords, values, /*expand_dbname=*/1);
  if (!raw) {
    return Error(ErrorCategory::ledger,
                 "cannot connect to PostgreSQL at '" + where + "': out of memory");
  }
  PQsetNoticeProcessor(raw, ignore_notice, nullptr);  // "relation exists, skipping" and the like
  Conn conn(raw, std::move(where), password_of(conninfo), options);
  if (PQstatus(raw) != CONNECTION_OK) return conn.failure("connecting", nullptr);
  if (auto r = conn.set_up_session(); !r) return r.error();
  return conn;
}

Conn::Conn(Conn&& other) noexcept
    : conn_(std::exchange(other.conn_, nullptr)),
      where_(std::move(other.where_)),
      password_(std::move(other.password_)),
      options_(other.options_),
      in_transaction_(other.in_transaction_) {}

Conn& Conn::operator=(Conn&& other) noexcept {
  if (this != &other) {
    if (conn_) PQfinish(conn_);
    conn_ = std::exchange(other.conn_, nullptr);
    where_ = std::move(other.where_);
    password_ = std::move(other.password_);
    options_ = other.options_;
    in_transaction_ = other.in_transaction_;
  }
  return *this;
}

Conn::~Conn() {
  if (conn_) PQfinish(conn_);
}

Result<void> Conn::set_up_session() {
  const std::string sql =
      "SET statement_timeout = " + std::to_string(options_.statement_timeout_ms);
  return script("setting up the session", sql);
}

Result<void> Conn::ensure_connected(std::string_view what) {
  if (PQstatus(conn_) == CONNECTION_OK) return {};
  if (in_transaction_) return failure(what, nullptr);
  // A connection that broke (server restart, network) is re-opened with
  // the same parameters; a server still down fails this call only.
  PQreset(conn_);
  if (PQstatus(conn_) != CONNECTION_OK) return failure(what, nullptr);
  return set_up_session();
}

Error Conn::failure(std::string_view what, const pg_result* result) const {
  std::string sqlstate;
  std::string message;
  if (result) {
    const char* state = PQresultErrorField(result, PG_DIAG_SQLSTATE);
    if (state) sqlstate = state;
    message = trimmed(PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY));
  }
  // No result or no server message: the connection itself failed, and
  // libpq's connection message says how.
  if (message.empty()) message = trimmed(PQerrorMessage(conn_));
  if (message.empty()) message = "unknown error";
  if (password_.size() >= 3) {
    for (size_t p = message.find(password_); p != std::string::npos; p = message.find(password_, p))
      message.replace(p, password_.size(), "***");
  }
  std::string text = std::string(what) + " failed on PostgreSQL '" + where_ + "': " + message;
  if (!sqlstate.empty()) text += " (SQLSTATE " + sqlstate + ")";
  const std::string_view hint = advice(sqlstate);
  if (!hint.empty()) text += std::string("; ") + std::string(hint);
  return Error(ErrorCategory::ledger, std::move(text));
}

Result<Rows> Conn::run(std::string_view what, std::string_view sql, std::initializer_list<Param> params) {
  if (auto r = ensure_connected(what); !r) return r.error();
  std::vector<std::string> storage;
  storage.reserve(params.size());
  std::vector<const char*> values;
  std::vector<Oid> types;
  for (const Param& p : params) {
    if (const auto* i = std::get_if<int64_t>(&p)) {
      storage.push_back(std::to_string(*i));
      values.push_back(storage.back().c_str());
      types.push_back(kInt8Oid);
    } else if (const auto* s = std::get_if<std::string_view>(&p)) {
      storage.emplace_back(*s);
      values.push_back(storage.back().c_str());
      types.push_back(kTextOid);
    } else {
      values.push_back(nullptr);
      types.push_back(0);
    }
  }
  const std::string text(sql);
  Rows rows(PQexecParams(conn_, text.c_str(), static_cast<int>(values.size()), types.data(),
                         values.data(), nullptr, nullptr, 0));
  const ExecStatusType status = rows.result_ ? PQresultStatus(rows.result_) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) return failure(what, rows.result_);
  return rows;
}

Result<void> Conn::begin(std::string_view what) {
  in_transaction_ = false;
  auto r = script(what, "BEGIN");
  if (!r && PQstatus(conn_) != CONNECTION_OK) r = script(what, "BEGIN");
  in_transaction_ = r.ok();
  return r;
}

Result<void> Conn::commit(std::string_view what) {
  auto r = script(what, "COMMIT");
  in_transaction_ = false;
  return r;
}

void Conn::rollback() noexcept {
  if (PQstatus(conn_) == CONNECTION_OK) PQclear(PQexec(conn_, "ROLLBACK"));
  in_transaction_ = false;
}

Result<void> Conn::script(std::string_view what, std::string_view sql) {
  if (auto r = ensure_connected(what); !r) return r.error();
  const std::string text(sql);
  Rows rows(PQexec(conn_, text.c_str()));
  const ExecStatusType status = rows.result_ ? PQresultStatus(rows.result_) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) return failure(what, rows.result_);
  return {};
}

}  // namespace tollgate::engine::pg
