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
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "mock/mock_server.hpp"

namespace {

using tollgate::adapters::MockBehavior;

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

// A flag's value that is wrong in a way only the mock knows (a SPEC), as the
// parser reports its own: tollgate-mock: --flag: what is wrong.
void check(const tollgate::adapters::Expected<void>& ok, const std::string& flag) {
  if (!ok) throw CLI::ValidationError(flag, ok.error());
}

}  // namespace

int main(int argc, char** argv) {
  tollgate::adapters::MockServerOptions options;
  options.port = 8089;
  options.threads = 2;
  std::vector<std::pair<std::string, MockBehavior>> scripts;
  std::string config_path, default_spec, tls_cert, tls_key;
  std::vector<std::string> script_specs;

  CLI::App app("tollgate-mock: a mock LLM provider (OpenAI and Anthropic wire formats) with scripted replies,\n"
               "pace and faults, for demos, load tests and trying a gateway without provider keys.",
               "tollgate-mock");
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return "tollgate-mock: " + std::string(e.what()) + "\nRun 'tollgate-mock --help' for the options.\n";
  });
  app.option_defaults()->always_capture_default();
  app.get_formatter()->column_width(30);
  app.footer(tollgate::adapters::mock_script_help());
  app.add_option("--address", options.address, "the address to listen on")->type_name("A");
  app.add_option("--port", options.port, "the port; 0 takes any free one (printed)")
      ->type_name("N")
      ->check(CLI::Range(0, 65535).description(""));
  app.add_option("--threads", options.threads, "I/O threads (1 to 256)")
      ->type_name("N")
      ->check(CLI::Range(1, 256).description(""));
  app.add_option("--api-key", options.api_key,
                 "requests must carry this key (Authorization: Bearer K,\n"
                 "or x-api-key: K), else 401")
      ->type_name("K");
  auto* cert = app.add_option("--tls-cert", tls_cert, "serve HTTPS with this certificate chain (with --tls-key)")
                   ->type_name("PEM")
                   ->check(CLI::ExistingFile.description(""));
  auto* key = app.add_option("--tls-key", tls_key, "the certificate's private key")
                  ->type_name("PEM")
                  ->check(CLI::ExistingFile.description(""));
  cert->needs(key);
  key->needs(cert);
  app.add_option("--config", config_path, "the behaviours as a JSON file (below)")->type_name("FILE");
  app.add_option("--default", default_spec, "every model's behaviour (SPEC below)")->type_name("SPEC");
  app.add_option("--script", script_specs, "one model's behaviour: --default's, changed by SPEC; repeat for more")
      ->type_name("MODEL=SPEC")
      ->allow_extra_args(false)  // one MODEL=SPEC an occurrence
      ->default_str("");
  try {
    app.parse(argc, argv);
    check(apply_mock_script(default_spec, options.default_behavior), "--default");
    for (const std::string& spec : script_specs) {
      const auto eq = spec.find('=');
      if (eq == std::string::npos || eq == 0) throw CLI::ValidationError("--script", "wants MODEL=SPEC");
      MockBehavior b = options.default_behavior;
      check(apply_mock_script(spec.substr(eq + 1), b), "--script");
      scripts.emplace_back(spec.substr(0, eq), std::move(b));
    }
  } catch (const CLI::ParseError& e) {
    // --help exits 0; any usage error 2, as the mock always has.
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (!tls_cert.empty() && !read_file(tls_cert, options.tls_cert_pem)) return fail("cannot read " + tls_cert);
  if (!tls_key.empty() && !read_file(tls_key, options.tls_key_pem)) return fail("cannot read " + tls_key);

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
