// Our JSON reader (adapters/json/json_reader.hpp, behind the answer scan and
// parse_json) accepts exactly what nlohmann::json::parse() accepts (but for
// exponents past INT_MAX), and parse_json builds the same tree,
// rule by rule: byte-order mark, whitespace, literals, numbers at the edges
// of int64/uint64/double, escapes and surrogates, UTF-8 well-formedness,
// nesting, duplicate keys and what may follow the value. And JsonWriter
// (adapters/json/json_write.hpp) writes byte for byte what dump() writes.
#include <catch2/catch.hpp>

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "adapters/json/json_parse.hpp"
#include "adapters/json/json_reader.hpp"
#include "adapters/json/json_write.hpp"
#include "adapters/providers/answer_scan.hpp"

namespace {

// Reads `text` both ways; checks they agree and says whether it was JSON.
bool agrees_with_nlohmann(const std::string& text) {
  INFO("text: " << nlohmann::json(text).dump(-1, ' ', true, nlohmann::json::error_handler_t::replace));
  const nlohmann::json ours = tollgate::adapters::parse_json(text, tollgate::adapters::kUnboundedJsonDepth);
  const nlohmann::json theirs = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  REQUIRE(ours.is_discarded() == theirs.is_discarded());
  if (ours.is_discarded()) return false;
  CHECK(ours == theirs);
  CHECK(ours.dump() == theirs.dump());  // the same types, not just equal values
  return true;
}

// A handler that counts events and can refuse one kind.
struct Refuser {
  bool refuse_keys = false;
  int events = 0;
  bool null() { return ++events > 0; }
  bool boolean(bool) { return ++events > 0; }
  bool number_integer(int64_t) { return ++events > 0; }
  bool number_unsigned(uint64_t) { return ++events > 0; }
  bool number_float(double) { return ++events > 0; }
  bool string(std::string_view) { return ++events > 0; }
  bool key(std::string_view) { return ++events > 0 && !refuse_keys; }
  bool start_object() { return ++events > 0; }
  bool end_object() { return ++events > 0; }
  bool start_array() { return ++events > 0; }
  bool end_array() { return ++events > 0; }
};

}  // namespace

TEST_CASE("json reader: values and what may surround them") {
  for (const char* ok : {"{}", "[]", " \t\r\n{} \n", "null", "true", "false", "\"\"", "0", "[[[]]]",
                         R"({"a":[1,{"b":null}],"c":"d"})", " [ 1 , 2 ] ", "\xEF\xBB\xBF{}"}) {
    CHECK(agrees_with_nlohmann(ok));
  }
  for (const char* bad : {"", " ", "{", "}", "[1,]", "{\"a\":1,}", "{,}", "[,1]", "{\"a\" 1}", "{\"a\":}",
                          "{1:2}", "{}{}", "{} x", "tru", "nul", "nulll", "True", "[1 2]", "\xEF\xBB{}",
                          "\xEF{}", " \xEF\xBB\xBF{}", "{}\xEF\xBB\xBF", "/* c */ {}", "{} // c", "\v{}",
                          "'a'", "[1]]", "[[1]"}) {
    CHECK_FALSE(agrees_with_nlohmann(bad));
  }
  // NUL ends the input for nlohmann: what follows the value after one is
  // ignored, and one where a token should be is an early end.
  CHECK(agrees_with_nlohmann(std::string("{}\0", 3)));
  CHECK(agrees_with_nlohmann(std::string("{} \0garbage", 11)));
  CHECK_FALSE(agrees_with_nlohmann(std::string("[\0]", 3)));
  CHECK_FALSE(agrees_with_nlohmann(std::string("\0{}", 3)));
  CHECK_FALSE(agrees_with_nlohmann(std::string("\"a\0\"", 4)));
}

TEST_CASE("json reader: numbers at the edges of their types") {
  for (const char* ok :
       {"0", "-0", "1", "-1", "9223372036854775807", "-9223372036854775808", "9223372036854775808",
        "18446744073709551615", "18446744073709551616", "-9223372036854775809", "123456789012345678901234567890",
        "0.5", "-0.0", "1e5", "1E5", "1e+5", "1e-5", "1.5e300", "1e-400", "-1e-400", "2.2250738585072014e-308",
        "1.7976931348623157e308", "[0,1,-1]", "{\"n\":-0.25e-2}"}) {
    CHECK(agrees_with_nlohmann(ok));
  }
  for (const char* bad : {"01", "-01", "00", "-", "+1", ".5", "1.", "1.e5", "1e", "1e+", "1e-", "-a", "0x10",
                          "1e400", "-1e400", "1.8e308", "Infinity", "NaN", "[1e999]", "1_000", "[2e308]"}) {
    CHECK_FALSE(agrees_with_nlohmann(bad));
  }
  // An integer too long for any 64-bit type is a double, and one past
  // double's range is an error.
  CHECK(agrees_with_nlohmann("1" + std::string(300, '0')));
  CHECK_FALSE(agrees_with_nlohmann("1" + std::string(400, '0')));
  // Rounded as strtod rounds, not as Boost 1.81's own conversion does (it
  // gives another double for 2.2250738585072011e-308 and 186.552428e121).
  for (const char* ok : {"0.1", "0.3", "1.1", "3.141592653589793", "0.30000000000000004", "4.9e-324",
                         "2.2250738585072011e-308", "186.552428e121", "9007199254740993.0",
                         "123456789012345678901234567890e-10"}) {
    CHECK(agrees_with_nlohmann(ok));
  }
}

TEST_CASE("json reader: an exponent past INT_MAX is the one text nlohmann reads and ours refuses") {
  using tollgate::adapters::parse_json;
  for (const char* zero : {"0e2147483648", "1e-9999999999", "[0.5E-00000000000000000002147483649]"}) {
    INFO(zero);
    CHECK_FALSE(nlohmann::json::parse(zero, nullptr, false).is_discarded());  // a zero to nlohmann
    CHECK(parse_json(zero).is_discarded());
  }
  // Below that, both read the zero; a huge positive exponent fails both.
  CHECK(agrees_with_nlohmann("1e-2147483647"));
  CHECK(agrees_with_nlohmann("0e2147483647"));
  CHECK_FALSE(agrees_with_nlohmann("1e2147483647"));
  CHECK_FALSE(agrees_with_nlohmann("1e9999999999"));
}

TEST_CASE("json reader: strings, escapes and UTF-8") {
  for (const char* ok :
       {R"("a\"b\\c\/d\b\f\n\r\t")", R"("\u0041\u00e9\u20AC")", R"("\ud83d\ude00")", R"("\u0000")",
        "\"\x7f\"", "\"\xC2\x80\"", "\"\xDF\xBF\"", "\"\xE0\xA0\x80\"", "\"\xED\x9F\xBF\"", "\"\xEE\x80\x80\"",
        "\"\xEF\xBF\xBF\"", "\"\xF0\x90\x80\x80\"", "\"\xF4\x8F\xBF\xBF\"", "\"caf\xC3\xA9 \\n \xE2\x82\xAC\"",
        R"({"\u006bey":"v","key":"w"})"}) {
    CHECK(agrees_with_nlohmann(ok));
  }
  for (const char* bad :
       {"\"abc", "\"\\\"", R"("\x")", R"("\u12")", R"("\u12g4")", R"("\ud83d")", R"("\ud83dx")",
        R"("\ud83d\u0041")", R"("\ude00")", R"("\ud83d\ud83d")", "\"\x01\"", "\"\x1f\"", "\"\t\"", "\"\n\"",
        "\"\x80\"", "\"\xBF\"", "\"\xC0\x80\"", "\"\xC1\xBF\"", "\"\xC2\"", "\"\xC2\x7F\"", "\"\xE0\x80\x80\"",
        "\"\xE0\x9F\xBF\"", "\"\xED\xA0\x80\"", "\"\xED\xBF\xBF\"", "\"\xE1\x80\"", "\"\xF0\x80\x80\x80\"",
        "\"\xF0\x8F\xBF\xBF\"", "\"\xF4\x90\x80\x80\"", "\"\xF5\x80\x80\x80\"", "\"\xFF\"", "\"\xF1\x80\x80\""}) {
    CHECK_FALSE(agrees_with_nlohmann(bad));
  }
}

TEST_CASE("json reader: long strings and keys with escapes arrive whole") {
  // basic_parser hands a string over in parts once its escapes fill its
  // buffer; the handler sees one string.
  const std::string text(9000, 'x');
  std::string escaped;
  for (int i = 0; i < 3000; ++i) escaped += R"(a\\\n\u00e9)";
  for (const std::string& doc :
       {"\"" + text + "\"", "\"" + escaped + "\"", "{\"" + escaped + "\":\"" + escaped + "\"}",
        "[\"" + text + "\\t" + text + "\"]"}) {
    CHECK(agrees_with_nlohmann(doc));
  }
}

TEST_CASE("json reader: nesting and duplicate keys") {
  // Deep, but not so deep that nlohmann's recursive dump() and operator==,
  // which the check uses, run out of stack under ASan (the reader itself
  // keeps its open containers on the heap).
  CHECK(agrees_with_nlohmann(std::string(300, '[') + std::string(300, ']')));
  CHECK_FALSE(agrees_with_nlohmann(std::string(300, '[') + std::string(299, ']')));
  // The reader recurses once per level: a hostile upstream's 100,000 levels
  // are refused at the bound, before the handler sees a deeper one.
  Refuser deep;
  CHECK_FALSE(tollgate::adapters::read_json(std::string(100000, '[') + std::string(100000, ']'), deep,
                                            tollgate::adapters::kMaxJsonDepth));
  CHECK(deep.events == tollgate::adapters::kMaxJsonDepth);
  std::string objects;
  for (int i = 0; i < 40; ++i) objects += "{\"k\":";
  objects += "1";
  objects += std::string(40, '}');
  CHECK(agrees_with_nlohmann(objects));
  CHECK(agrees_with_nlohmann(R"({"a":1,"a":{"b":2},"a":[3]})"));
  CHECK(agrees_with_nlohmann(R"({"a":{"x":1},"a":{"y":2}})"));
}

TEST_CASE("parse_json refuses text nested deeper than its bound, answers' bound by default") {
  using tollgate::adapters::kMaxJsonDepth;
  using tollgate::adapters::parse_json;
  const auto nest = [](int n) { return std::string(static_cast<std::size_t>(n), '[') + std::string(static_cast<std::size_t>(n), ']'); };
  CHECK_FALSE(parse_json(nest(kMaxJsonDepth)).is_discarded());
  CHECK(parse_json(nest(kMaxJsonDepth + 1)).is_discarded());
  // A hostile upstream's 100,000 levels: refused without a deep tree to
  // walk, destroy or dump.
  CHECK(parse_json(nest(100000)).is_discarded());
  std::string objects;
  for (int i = 0; i < kMaxJsonDepth + 1; ++i) objects += "{\"k\":";
  objects += "1" + std::string(static_cast<std::size_t>(kMaxJsonDepth) + 1, '}');
  CHECK(parse_json(objects).is_discarded());
  CHECK(parse_json(objects, kMaxJsonDepth + 1).is_object());
}

TEST_CASE("the answer scan holds an answer to parse_json's bound") {
  using tollgate::adapters::kMaxJsonDepth;
  // The answer object and its choices array are two levels of the bound.
  const auto answer = [](int levels) {
    const auto n = static_cast<std::size_t>(levels - 2);
    return R"({"choices":[)" + std::string(n, '[') + std::string(n, ']') + "]}";
  };
  CHECK(tollgate::adapters::scan_completion(answer(kMaxJsonDepth)).has_value());
  CHECK_FALSE(tollgate::adapters::parse_json(answer(kMaxJsonDepth)).is_discarded());
  CHECK_FALSE(tollgate::adapters::scan_completion(answer(kMaxJsonDepth + 1)).has_value());
  CHECK(tollgate::adapters::parse_json(answer(kMaxJsonDepth + 1)).is_discarded());
}

TEST_CASE("json reader: a handler that says stop fails the read") {
  Refuser refuser;
  refuser.refuse_keys = true;
  CHECK_FALSE(tollgate::adapters::read_json(R"({"a":1})", refuser, tollgate::adapters::kMaxJsonDepth));
  CHECK(refuser.events == 2);  // start_object, then the refused key
  Refuser accepting;
  CHECK(tollgate::adapters::read_json(R"({"a":[1,2.5,"s",null,true]})", accepting,
                                      tollgate::adapters::kMaxJsonDepth));
  CHECK(accepting.events == 10);
}

TEST_CASE("json writer: byte for byte what dump() writes") {
  using nlohmann::json;
  const json doc = json::parse(R"({"model":"m","messages":[{"role":"user","content":"a\"b\\c\n\u0001\u001f\u007f caf\u00e9 \ud83d\ude00"}],)"
                               R"("n":[1,-2,3.5,1e300,true,false,null],"o":{}})");
  std::string out = "prefix:";
  tollgate::adapters::JsonWriter writer(out);
  writer.value(doc);
  out += '|';
  for (const char* s : {"", "plain", "q\"uote", "back\\slash", "\b\f\n\r\t", "\x01\x1f\x7f", "caf\xC3\xA9",
                        "\xF0\x9F\x98\x80"}) {
    writer.string(s);
    out += ',';
  }
  std::string expected = "prefix:" + doc.dump() + "|";
  for (const char* s : {"", "plain", "q\"uote", "back\\slash", "\b\f\n\r\t", "\x01\x1f\x7f", "caf\xC3\xA9",
                        "\xF0\x9F\x98\x80"}) {
    expected += json(s).dump() + ",";
  }
  CHECK(out == expected);

  // Not UTF-8: refused as dump() refuses it, and nothing half-written stays.
  std::string bad = "x";
  tollgate::adapters::JsonWriter bad_writer(bad);
  CHECK_THROWS_AS(bad_writer.string("ok\xC3("), json::type_error);
  CHECK_THROWS_AS(json(std::string("ok\xC3(")).dump(), json::type_error);
}
