#include <catch2/catch.hpp>

#include "engine/routing/catalog.hpp"
#include "test_support.hpp"

using namespace tollgate;
using engine::Catalog;

TEST_CASE("the built-in catalog carries the published figures", "[catalog]") {
  auto cat = Catalog::builtin();
  REQUIRE(cat.ok());
  CHECK(cat->models().size() == 84);
  const auto* m = cat->find_model("gpt-4o");
  REQUIRE(m);
  CHECK(m->provider == "openai");
  CHECK(m->input.micros_per_mtok == 2'500'000);
  CHECK(m->cached_input.micros_per_mtok == 1'250'000);
  CHECK(m->output.micros_per_mtok == 10'000'000);
  CHECK(m->context_window == 128000);
  CHECK(m->max_output == 16384);
  // Hosted Llama: the id names the host, the upstream name does not.
  const auto* llama = cat->find_model("groq/llama-3.1-8b-instant");
  REQUIRE(llama);
  CHECK(llama->provider == "groq");
  CHECK(llama->upstream == "llama-3.1-8b-instant");
  // Unknown prices stay unknown: such a model cannot be costed.
  const auto* r1 = cat->find_model("deepseek-r1");
  REQUIRE(r1);
  CHECK_FALSE(r1->priced());
  CHECK(cat->find_provider("anthropic")->api == engine::ApiKind::anthropic);
  CHECK(cat->find_provider("deepseek")->base_url == "https://api.deepseek.com/v1");
}

TEST_CASE("a user catalog in list form loads, bad catalogs are config errors", "[catalog]") {
  auto ok = Catalog::parse(R"({"models": [{"id": "m1", "provider": "p", "input": 1, "output": 2}]})", "test");
  REQUIRE(ok.ok());
  CHECK(ok->find_model("m1")->output.micros_per_mtok == 2'000'000);

  auto bad = Catalog::parse("{not json", "mine.json");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().category() == ErrorCategory::config);
  CHECK(bad.error().message() == "mine.json: not valid JSON");

  auto no_provider = Catalog::parse(R"({"models": {"m": {"input": 1}}})", "c.json");
  REQUIRE_FALSE(no_provider.ok());
  CHECK(no_provider.error().message() == "c.json: model 'm' has no provider");

  // Names reach response headers and log lines: a line break would forge one.
  auto broken_id = Catalog::parse(R"({"models": {"m\r\nx-admin: 1": {"provider": "p"}}})", "c.json");
  REQUIRE_FALSE(broken_id.ok());
  CHECK(broken_id.error().message() == "c.json: a model id holds a control character (a line break, tab or NUL)");
  auto broken_provider = Catalog::parse(R"({"models": {"m": {"provider": "p\u0000q"}}})", "c.json");
  REQUIRE_FALSE(broken_provider.ok());
  CHECK(broken_provider.error().message() == "c.json: model 'm': its provider name holds a control character");
  auto broken_provider_entry = Catalog::parse(R"({"providers": {"p\n": {}}, "models": {}})", "c.json");
  REQUIRE_FALSE(broken_provider_entry.ok());
  CHECK(broken_provider_entry.error().message() ==
        "c.json: a provider name holds a control character (a line break, tab or NUL)");

  auto missing = Catalog::from_file("/nonexistent/catalog.json");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().message() == "/nonexistent/catalog.json: cannot read the catalog file");
}

TEST_CASE("policy declarations add and override models", "[catalog]") {
  auto cat = Catalog::builtin();
  REQUIRE(cat.ok());
  dsl::ModelDecl priced;
  priced.id = "deepseek-r1";
  priced.input_usd_mtok = 0.55;
  priced.labels["tier"] = "reasoning";
  dsl::ModelDecl fresh;
  fresh.id = "local-llama";
  fresh.provider = "ollama";
  fresh.input_usd_mtok = 0;
  fresh.output_usd_mtok = 0;
  dsl::ProviderDecl ollama;
  ollama.name = "ollama";
  ollama.base_url = "http://127.0.0.1:11434/v1";
  ollama.labels["pii_ok"] = "true";
  REQUIRE(cat->apply({ollama}, {priced, fresh}).ok());
  const auto* r1 = cat->find_model("deepseek-r1");
  CHECK(r1->priced());
  CHECK(r1->input.micros_per_mtok == 550'000);
  CHECK(r1->output.micros_per_mtok == 2'500'000);  // kept from the catalog
  const auto* local = cat->find_model("local-llama");
  REQUIRE(local);
  CHECK(cat->labels_of(*local).at("pii_ok") == "true");

  dsl::ModelDecl orphan;
  orphan.id = "nowhere";
  orphan.loc = {"p.lua", 7};
  auto r = cat->apply({}, {orphan});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message() == "p.lua:7: model 'nowhere' is not in the catalog, so it needs a provider");
}
