// The Provider every wire format shares: encode with the format, send with
// the pooled HTTP client, and read the answer back through the format —
// whole, or event by event when streamed — into one classified outcome.
#include <cstdlib>

#include <boost/asio/post.hpp>

#include "adapters/providers/completion_assembler.hpp"
#include "adapters/http/http_client.hpp"
#include "adapters/providers/provider.hpp"
#include "adapters/http/sse.hpp"
#include "adapters/providers/wire_format.hpp"

namespace tollgate::adapters {

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

milliseconds since(Clock::time_point t) {
  return std::chrono::duration_cast<milliseconds>(Clock::now() - t);
}

// Replaces every occurrence of the key: some providers quote it back
// ("Incorrect API key provided: sk-...").
void redact(std::string& text, const std::string& key) {
  if (key.size() < 4) return;  // too short to be a key; redacting would mangle text
  for (auto at = text.find(key); at != std::string::npos; at = text.find(key, at)) {
    text.replace(at, key.size(), "[redacted]");
  }
}

Failure from_transport(const TransportError& e) {
  Failure f;
  f.message = e.message;
  f.request_sent = e.request_sent;
  switch (e.kind) {
    case TransportErrorKind::timeout_connect:
    case TransportErrorKind::timeout_first_byte:
    case TransportErrorKind::timeout_idle:
    case TransportErrorKind::timeout_total:
      f.kind = FailureKind::timeout;
      break;
    case TransportErrorKind::truncated:
      f.kind = FailureKind::truncated;
      break;
    case TransportErrorKind::too_large:
      f.kind = FailureKind::malformed;
      break;
    case TransportErrorKind::tls:
      f.kind = FailureKind::config;  // retrying the same host cannot fix a certificate
      break;
    case TransportErrorKind::cancelled:
      f.kind = FailureKind::cancelled;
      break;
    default:
      f.kind = FailureKind::retryable;
      break;
  }
  return f;
}

// Reads one answer. Runs on the exchange's strand: no locking needed.
class ChatSink final : public HttpSink {
 public:
  ChatSink(std::shared_ptr<const WireFormat> format, std::shared_ptr<const std::string> key,
           bool stream, AnswerForm form, DeltaFn on_delta, DoneFn done)
      : format_(std::move(format)),
        key_(std::move(key)),
        stream_(stream),
        form_(form),
        on_delta_(std::move(on_delta)),
        done_(std::move(done)) {}

  void on_head(const HttpResponseHead& head) override {
    head_ = head;
    ttfb_ = since(start_);
    sse_mode_ = stream_ && ok_status() && head.content_type.starts_with("text/event-stream");
    if (sse_mode_) decoder_ = format_->stream_decoder();
  }

  bool on_body(std::string_view bytes) override {
    if (!sse_mode_) {
      body_.append(bytes);
      return true;
    }
    if (finished_stream_) return true;  // trailing bytes after the final event
    const auto status = sse_.feed(bytes, [this](std::string_view ev, std::string_view data) {
      return on_event(ev, data);
    });
    if (status == SseParser::Status::line_too_long) {
      fail(FailureKind::malformed, "stream line longer than the parser allows");
    }
    return !failure_;
  }

  void on_done(std::optional<TransportError> error) override {
    ChatResult result = outcome(std::move(error));
    if (auto* f = std::get_if<Failure>(&result)) {
      f->latency = since(start_);
      f->deltas_delivered = delivered_;
      if (delivered_) f->partial_output = assembler_.text_so_far();
      redact(f->message, *key_);
    }
    done_(std::move(result));
  }

 private:
  bool ok_status() const { return head_.status >= 200 && head_.status < 300; }

  void fail(FailureKind kind, std::string message) {
    Failure f;
    f.kind = kind;
    f.http_status = head_.status;
    f.message = std::move(message);
    failure_ = std::move(f);
  }

  bool on_event(std::string_view event, std::string_view data) {
    auto step = decoder_->on_event(event, data, chunks_);
    if (auto* f = std::get_if<Failure>(&step)) {
      failure_ = std::move(*f);
      chunks_.clear();
      return false;
    }
    for (auto& chunk : chunks_) {
      assembler_.add(chunk);
      if (!delivered_ && carries_tokens(chunk)) {
        delivered_ = true;
        ttft_ = since(start_);
      }
      if (on_delta_) on_delta_(chunk);
    }
    chunks_.clear();
    if (std::get<StreamDecoder::Step>(step) == StreamDecoder::Step::done) {
      finished_stream_ = true;
      return false;
    }
    return true;
  }

  ChatResult outcome(std::optional<TransportError> error) {
    if (failure_) return std::move(*failure_);
    // The final event arrived: what the connection did afterwards does not
    // change the answer.
    if (error && !(finished_stream_ && error->kind != TransportErrorKind::cancelled)) {
      Failure f = from_transport(*error);
      f.http_status = head_.status;
      // An error status cut short is no bill for the prompt (as Failure says).
      f.request_sent = f.request_sent && (head_.status == 0 || ok_status());
      if (f.kind == FailureKind::truncated || f.kind == FailureKind::retryable) {
        if (sse_mode_) f.message = "stream cut before its end: " + f.message;
      }
      return f;
    }
    if (!ok_status()) {
      return format_->classify(head_.status, body_, head_.retry_after);
    }
    ChatResponse r;
    if (sse_mode_) {
      if (!finished_stream_ && !assembler_.finished()) {
        Failure f;
        f.kind = FailureKind::truncated;
        f.http_status = head_.status;
        f.message = "stream ended without its final event (truncated)";
        return f;
      }
      r.body = assembler_.take();
      r.time_to_first_token = delivered_ ? ttft_ : ttfb_;
    } else {
      // Only the bytes wanted: checked and read without a tree when the
      // format allows; anything it cannot read that way is decoded below.
      if (form_ == AnswerForm::text && !stream_ && format_->decodes_verbatim()) {
        if (auto facts = format_->scan(body_)) {
          r.usage = facts->usage;
          r.finish_reason = std::move(facts->finish_reason);
          r.body_text = std::move(body_);
          r.time_to_first_token = ttfb_;
          r.latency = since(start_);
          return r;
        }
      }
      auto decoded = format_->decode(body_);
      if (auto* f = std::get_if<Failure>(&decoded)) return std::move(*f);
      r.body = std::move(std::get<json>(decoded));
      if (format_->decodes_verbatim()) r.body_text = std::move(body_);
      r.time_to_first_token = ttfb_;
    }
    r.usage = usage_of(r.body);
    r.finish_reason = finish_reason_of(r.body);
    r.latency = since(start_);
    return r;
  }

  std::shared_ptr<const WireFormat> format_;
  std::shared_ptr<const std::string> key_;
  const bool stream_;
  const AnswerForm form_;
  DeltaFn on_delta_;
  DoneFn done_;
  const Clock::time_point start_ = Clock::now();

  HttpResponseHead head_;
  milliseconds ttfb_{0};
  milliseconds ttft_{0};
  bool sse_mode_ = false;
  std::string body_;  // non-streamed answers and error bodies
  SseParser sse_;
  std::unique_ptr<StreamDecoder> decoder_;
  std::vector<json> chunks_;
  CompletionAssembler assembler_;
  bool delivered_ = false;
  bool finished_stream_ = false;
  std::optional<Failure> failure_;
};

class HttpProvider final : public Provider {
 public:
  HttpProvider(boost::asio::any_io_executor ex, std::string name, ApiKind api,
               std::shared_ptr<const WireFormat> format, std::shared_ptr<HttpClient> client,
               std::shared_ptr<const std::string> key)
      : ex_(std::move(ex)),
        name_(std::move(name)),
        api_(api),
        format_(std::move(format)),
        client_(std::move(client)),
        key_(std::move(key)) {}

  const std::string& name() const noexcept override { return name_; }
  ApiKind api() const noexcept override { return api_; }
  std::size_t open_connections() const override { return client_->open_connections(); }

  void async_chat(const json& body, std::string_view model, bool stream, AnswerForm form, DeltaFn on_delta,
                  std::shared_ptr<CancelSignal> cancel, DoneFn done) override {
    auto bytes = format_->encode(body, model, stream);
    if (!bytes) {
      Failure f;
      f.kind = FailureKind::request;
      f.message = bytes.error();
      boost::asio::post(ex_, [done = std::move(done), f = std::move(f)]() mutable {
        done(std::move(f));
      });
      return;
    }
    auto sink = std::make_shared<ChatSink>(format_, key_, stream, form, std::move(on_delta),
                                           std::move(done));
    client_->async_post(format_->path(), std::move(*bytes), std::move(sink), std::move(cancel));
  }

 private:
  boost::asio::any_io_executor ex_;
  std::string name_;
  ApiKind api_;
  std::shared_ptr<const WireFormat> format_;
  std::shared_ptr<HttpClient> client_;
  std::shared_ptr<const std::string> key_;
};

}  // namespace

Expected<std::shared_ptr<Provider>> make_provider(boost::asio::any_io_executor executor,
                                                ProviderConfig config) {
  auto endpoint = parse_base_url(config.base_url);
  if (!endpoint) {
    return Unexpected("provider '" + config.name + "': " + endpoint.error());
  }
  std::string key = std::move(config.api_key);
  if (key.empty() && !config.api_key_env.empty()) {
    const char* value = std::getenv(config.api_key_env.c_str());
    if (value == nullptr || *value == '\0') {
      return Unexpected("provider '" + config.name + "': environment variable " +
                                              config.api_key_env + " (its API key) is not set");
    }
    key = value;
  }

  HttpClientOptions o;
  o.endpoint = std::move(*endpoint);
  o.connection = std::move(config.connection);

  std::shared_ptr<const WireFormat> format;
  if (config.api == ApiKind::anthropic) {
    format = make_anthropic_format(config.anthropic_default_max_tokens);
    if (!key.empty()) o.headers.emplace_back("x-api-key", key);
    o.headers.emplace_back("anthropic-version", config.anthropic_version);
  } else {
    format = make_openai_format();
    if (!key.empty()) o.headers.emplace_back("Authorization", "Bearer " + key);
  }
  for (auto& h : config.headers) o.headers.push_back(std::move(h));

  auto client = HttpClient::create(executor, std::move(o));
  if (!client) {
    return Unexpected("provider '" + config.name + "': " + client.error());
  }
  return std::shared_ptr<Provider>(std::make_shared<HttpProvider>(
      std::move(executor), std::move(config.name), config.api, std::move(format),
      std::move(*client), std::make_shared<const std::string>(std::move(key))));
}

}  // namespace tollgate::adapters
