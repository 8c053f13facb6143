// tollgate-mock: the mock provider as a standalone server, for demos, load
// tests and trying a gateway without provider keys.
//
//   tollgate-mock --port 8089 --threads 2 --script 'slow=latency_ms=400;tps=40'
//   tollgate-mock --script 'flaky=fault=rate_limit;fail_times=1'
//   tollgate-mock --config mock.json   # {"default": {...}, "models": {"name": {...}}}
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

#include "mock/mock_server.hpp"

namespace {

using tollgate::adapters::MockBehavior;

constexpr const char* kUsage =
    "usage: tollgate-mock [--address A] [--port N] [--threads N] [--api-key K]\n"
    "                     [--tls-cert PEM --tls-key PEM] [--config FILE]\n"
    "                     [--default SPEC] [--script MODEL=SPEC]...\n"
    "SPEC: key=value;... with reply, latency_ms, tps, fault, fail_times,\n"
    "      retry_after_s, context_window, cached_tokens, truncate_after, no_usage, tool, tool_args\n"
    "faults: rate_limit server_error unavailable hang reset truncate malformed\n"
    "        context_length bad_request unauthorized\n";

bool read_file(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return true;
}

int fail(const std::string& message) {
  std::cerr << "tollgate-mock: " << message << "\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  tollgate::adapters::MockServerOptions options;
  options.port = 8089;
  options.threads = 2;
  std::vector<std::pair<std::string, MockBehavior>> scripts;
  std::string config_path;

  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::cout << kUsage;
      return 0;
    }
    if (i + 1 >= argc) return fail("missing value after " + arg + "\n" + kUsage);
    const std::string value = argv[++i];
    if (arg == "--address") {
      options.address = value;
    } else if (arg == "--port") {
      options.port = static_cast<uint16_t>(std::stoi(value));
    } else if (arg == "--threads") {
      options.threads = static_cast<unsigned>(std::stoi(value));
    } else if (arg == "--api-key") {
      options.api_key = value;
    } else if (arg == "--tls-cert") {
      if (!read_file(value, options.tls_cert_pem)) return fail("cannot read " + value);
    } else if (arg == "--tls-key") {
      if (!read_file(value, options.tls_key_pem)) return fail("cannot read " + value);
    } else if (arg == "--config") {
      config_path = value;
    } else if (arg == "--default") {
      if (auto ok = apply_mock_script(value, options.default_behavior); !ok) return fail(ok.error());
    } else if (arg == "--script") {
      const auto eq = value.find('=');
      if (eq == std::string::npos) return fail("--script wants MODEL=SPEC");
      MockBehavior b = options.default_behavior;
      if (auto ok = apply_mock_script(value.substr(eq + 1), b); !ok) return fail(ok.error());
      scripts.emplace_back(value.substr(0, eq), std::move(b));
    } else {
      return fail("unknown option " + arg + "\n" + kUsage);
    }
  }

  if (!config_path.empty()) {
    std::string text;
    if (!read_file(config_path, text)) return fail("cannot read " + config_path);
    const auto config = nlohmann::json::parse(text, nullptr, false);
    if (config.is_discarded() || !config.is_object()) return fail(config_path + " is not a JSON object");
    if (config.contains("default")) {
      if (auto ok = apply_mock_json(config["default"], options.default_behavior); !ok) {
        return fail(config_path + ": default: " + ok.error());
      }
    }
    const nlohmann::json models = config.value("models", nlohmann::json::object());
    for (const auto& [model, spec] : models.items()) {
      MockBehavior b = options.default_behavior;
      if (auto ok = apply_mock_json(spec, b); !ok) return fail(config_path + ": " + model + ": " + ok.error());
      scripts.emplace_back(model, std::move(b));
    }
  }

  // Block the stop signals before any thread starts, so only sigwait sees them.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);

  auto server = tollgate::adapters::MockServer::start(options);
  if (!server) return fail(server.error());
  for (auto& [model, b] : scripts) (*server)->script(model, std::move(b));
  std::cout << "tollgate-mock listening on " << (*server)->base_url() << std::endl;

  int sig = 0;
  sigwait(&stop, &sig);
  std::cout << "tollgate-mock: stopping after " << (*server)->total_calls() << " requests" << std::endl;
  return 0;
}
