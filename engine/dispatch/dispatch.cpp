// One dispatch is an Operation that walks the targets: each step (start an
// attempt, judge its outcome, wait out a backoff) runs on the operation's
// strand, one after another, so its state needs no lock.
#include "adapters/json/json_parse.hpp"
#include "engine/dispatch/dispatch.hpp"

#include <future>
#include <optional>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "adapters/http/serial_executor.hpp"
#include "adapters/providers/wire_format.hpp"
#include "engine/routing/tokens.hpp"
#include "engine/wall_clock.hpp"

namespace tollgate {

namespace {

namespace net = boost::asio;
using adapters::ChatResult;
using adapters::Failure;
using adapters::FailureKind;
using Clock = std::chrono::steady_clock;

ErrorCategory category_of(FailureKind kind) {
  switch (kind) {
    case FailureKind::timeout: return ErrorCategory::timeout;
    case FailureKind::cancelled: return ErrorCategory::cancelled;
    case FailureKind::request: return ErrorCategory::bad_request;
    default: return ErrorCategory::provider;
  }
}

// "28 s": a wait rounded up to whole seconds, as a client retries.
std::string whole_seconds(std::chrono::milliseconds wait) {
  return std::to_string(std::chrono::ceil<std::chrono::seconds>(wait).count()) + " s";
}

CallOutcome outcome_of(FailureKind kind) {
  switch (kind) {
    case FailureKind::request:
    case FailureKind::auth:
    case FailureKind::context_length:
    case FailureKind::cancelled:
      return CallOutcome::neutral;  // the request's fault, or nobody's
    default:
      return CallOutcome::failure;
  }
}

class Operation : public std::enable_shared_from_this<Operation> {
 public:
  Operation(const net::any_io_executor& ex, std::shared_ptr<CircuitBreakers> breakers,
            std::shared_ptr<const DispatchOptions> options, DispatchRequest request,
            std::vector<DispatchTarget> targets, Dispatcher::DoneFn done)
      : strand_(adapters::serial_executor(ex)),
        timer_(strand_),
        breakers_(std::move(breakers)),
        options_(std::move(options)),
        request_(std::move(request)),
        targets_(std::move(targets)),
        done_(std::move(done)) {}

  void begin() {
    net::post(strand_, [self = shared_from_this()] { self->next_candidate(); });
  }

 private:
  const DispatchTarget& target() const { return targets_[index_]; }
  std::string_view upstream() const {
    return target().upstream_model.empty() ? target().model : target().upstream_model;
  }
  std::string describe(const DispatchTarget& t) const {
    return "provider '" + t.provider->name() + "' model '" + t.model + "'";
  }

  // Finds the next target worth trying, from index_ on.
  void next_candidate() {
    for (; index_ < targets_.size(); ++index_) {
      const DispatchTarget& t = target();
      if (!t.provider) {
        notes_.push_back("target " + std::to_string(index_) + " has no provider");
        continue;
      }
      if (window_floor_ > 0 && t.context_window > 0 && t.context_window <= window_floor_) {
        notes_.push_back(describe(t) + ": skipped, context window " +
                         std::to_string(t.context_window) + " is not larger than the one that overflowed");
        continue;
      }
      if (request_.admit) {
        if (auto admitted = request_.admit(index_, t); !admitted.ok()) {
          notes_.push_back(describe(t) + ": " + admitted.error().message());
          last_category_ = admitted.error().category();
          refused_ = true;
          continue;
        }
      }
      if (breakers_ && !breakers_->allow(t.provider->name(), t.model)) {
        const auto left = breakers_->cooldown_left(t.provider->name(), t.model);
        cooldown_ = cooldown_ ? std::min(*cooldown_, left) : left;
        notes_.push_back(describe(t) + ": skipped, circuit open after repeated failures (" +
                         (left.count() > 0 ? "for " + whole_seconds(left) + " more" : "its probe call is in flight") +
                         ")");
        continue;
      }
      tries_ = 1;
      start_attempt();
      return;
    }
    std::string notes;
    for (std::size_t i = 0; i < notes_.size(); ++i) notes += (i ? "; " : "") + notes_[i];
    // Nothing was tried and no cap refused: only open circuits stood in the
    // way, which is a wait (Error::retry_after_ms), not a failure.
    if (attempts_ == 0 && cooldown_ && !refused_) {
      Error wait(ErrorCategory::unavailable,
                 "the providers are cooling down after repeated failures, so no candidate was tried; retry in " +
                     whole_seconds(std::max(*cooldown_, std::chrono::milliseconds(1))) + ": " + notes);
      finish(std::move(wait.set_retry_after_ms(cooldown_->count())));
      return;
    }
    finish(Error(last_category_, (targets_.empty() ? "no candidates to dispatch to" : "no candidate answered: ") + notes));
  }

  void start_attempt() {
    if (request_.cancel && request_.cancel->cancelled()) {
      // allow() may have made this call a half-open probe: free its slot.
      if (breakers_ && tries_ == 1) {
        breakers_->record(target().provider->name(), target().model, CallOutcome::neutral);
      }
      finish(Error(ErrorCategory::cancelled, request_.cancel->reason()));
      return;
    }
    ++attempts_;
    started_unix_ms_ = engine::unix_now_ms();
    if (request_.on_start) request_.on_start(index_);
    target().provider->async_chat(
        request_.body, upstream(), request_.stream, request_.answer_form, request_.on_delta, request_.cancel,
        [self = shared_from_this()](ChatResult r) {
          net::post(self->strand_, [self, r = std::move(r)]() mutable { self->judge(std::move(r)); });
        });
  }

  // `usage_estimated`: the answer came without usage (see estimate_missing_usage).
  void emit(const ChatResult& r, bool usage_estimated) {
    if (!options_->on_attempt && !request_.on_attempt) return;
    AttemptRecord rec;
    rec.request_id = request_.request_id;
    rec.unix_ms = started_unix_ms_;
    rec.team = request_.team;
    rec.user = request_.user;
    rec.tags_json = request_.tags_json;
    rec.route = request_.route;
    rec.provider = target().provider->name();
    rec.model = target().model;
    rec.attempt = attempts_;
    if (const auto* a = std::get_if<adapters::ChatResponse>(&r)) {
      rec.status = AttemptStatus::ok;
      rec.input_tokens = a->usage.input_tokens;
      rec.cached_input_tokens = a->usage.cached_input_tokens;
      rec.output_tokens = a->usage.output_tokens;
      rec.cost = cost_of(a->usage);
      rec.latency_ms = a->latency.count();
      rec.ttft_ms = a->time_to_first_token.count();
      if (usage_estimated)
        rec.error_message = "the provider reported no usage; the tokens and cost are tollgate's estimate";
    } else {
      const auto& f = std::get<Failure>(r);
      rec.status = AttemptStatus::error;
      rec.latency_ms = f.latency.count();
      rec.error_category = category_of(f.kind);
      rec.error_message = failure_text(f);
      // No usage came, but the provider bills what it read and generated:
      // cut midway, the prompt and the part streamed; stopped after it read
      // the whole request and before any answer (a timeout, a cancel, a
      // reset), the prompt, since what it generated is unknown (an
      // undercount at worst, where 0 always was one). Estimated, as a
      // reservation is.
      const bool streamed_part = !f.partial_output.empty();
      if (streamed_part || f.request_sent) {
        adapters::Usage u;
        u.input_tokens = request_.input_tokens;
        if (streamed_part) u.output_tokens = engine::estimate_text_tokens(f.partial_output);
        rec.input_tokens = u.input_tokens;
        rec.output_tokens = u.output_tokens;
        rec.cost = cost_of(u);
        rec.error_message += " (charged an estimate: " + std::to_string(u.input_tokens);
        rec.error_message += streamed_part ? " input and " + std::to_string(u.output_tokens) +
                                                 " output tokens streamed before it stopped)"
                                           : " input tokens, the prompt the provider had read when it stopped)";
      }
    }
    if (request_.on_attempt) request_.on_attempt(rec, index_);
    if (options_->on_attempt) options_->on_attempt(std::move(rec));
  }

  // An answer with no usage (some OpenAI-compatible servers send none, or
  // zeros) would be free, and no cap would ever fill: it is charged an
  // estimate of its prompt and of the text it returned instead.
  // True when it estimated.
  bool estimate_missing_usage(adapters::ChatResponse& a) const {
    if (a.usage.input_tokens > 0 || a.usage.output_tokens > 0) return false;
    a.usage.input_tokens = request_.input_tokens;
    // An answer kept as text alone (AnswerForm::text) is parsed for this rare case.
    const nlohmann::json parsed = a.body.is_null() && !a.body_text.empty()
                                      ? adapters::parse_json(a.body_text)
                                      : nlohmann::json();
    a.usage.output_tokens =
        engine::estimate_text_tokens(adapters::answer_text(parsed.is_null() ? a.body : parsed));
    return true;
  }

  Money cost_of(const adapters::Usage& usage) const {
    if (request_.cost) return request_.cost(target(), usage);
    if (options_->cost) return options_->cost(target(), usage);
    return Money{};
  }

  std::string failure_text(const Failure& f) const {
    std::string text = describe(target());
    if (upstream() != target().model) text += " (upstream '" + std::string(upstream()) + "')";
    text += ": ";
    if (f.http_status > 0) text += "HTTP " + std::to_string(f.http_status) + ": ";
    text += f.message;
    return text;
  }

  void judge(ChatResult r) {
    auto* answer = std::get_if<adapters::ChatResponse>(&r);
    emit(r, answer && estimate_missing_usage(*answer));
    const DispatchTarget& t = target();
    if (answer) {
      if (breakers_) breakers_->record(t.provider->name(), t.model, CallOutcome::success);
      DispatchResult out;
      out.response = std::move(*answer);
      out.target_index = index_;
      out.provider = t.provider->name();
      out.model = t.model;
      out.attempts = attempts_;
      finish(std::move(out));
      return;
    }
    const Failure& f = std::get<Failure>(r);
    if (breakers_) breakers_->record(t.provider->name(), t.model, outcome_of(f.kind));
    const std::string text = failure_text(f);
    last_category_ = category_of(f.kind);

    if (f.kind == FailureKind::cancelled) {
      const std::string why = request_.cancel ? request_.cancel->reason() : std::string();
      finish(Error(ErrorCategory::cancelled, (why.empty() ? "cancelled" : why) + " during " + describe(t)));
      return;
    }
    if (f.deltas_delivered) {
      finish(Error(ErrorCategory::provider,
                   "the stream failed after part of the answer was sent; not restarting it on "
                   "another attempt: " + text));
      return;
    }
    if (f.kind == FailureKind::request) {
      finish(Error(ErrorCategory::bad_request, "the provider rejected the request: " + text));
      return;
    }
    if (f.kind == FailureKind::auth) {
      finish(Error(ErrorCategory::provider,
                   "the provider refused the key (check the provider's api_key or key_env): " + text));
      return;
    }
    notes_.push_back(text);
    if (f.kind == FailureKind::context_length) {
      // Only a larger window can help: unknown windows count as the estimate.
      window_floor_ = std::max<int64_t>(window_floor_, t.context_window > 0 ? t.context_window : 1);
      ++index_;
      next_candidate();
      return;
    }
    const int max_attempts = t.max_retries >= 0 ? t.max_retries + 1 : options_->retry.max_attempts;
    if (adapters::is_retryable(f.kind) && tries_ < max_attempts) {
      if (auto wait = retry_delay(options_->retry, tries_ + 1, f.retry_after, jitter_draw())) {
        if (!request_.deadline || Clock::now() + *wait < *request_.deadline) {
          ++tries_;
          backoff(*wait);
          return;
        }
        notes_.back() += "; not retried: its wait of " + std::to_string(wait->count()) +
                         " ms would outlast the request's deadline";
      }
    }
    ++index_;
    next_candidate();
  }

  void backoff(std::chrono::milliseconds wait) {
    timer_.expires_after(wait);
    uint64_t ticket = 0;
    if (request_.cancel) {
      std::weak_ptr<Operation> weak = weak_from_this();
      ticket = request_.cancel->set_handler([weak] {
        if (auto self = weak.lock()) net::post(self->strand_, [self] { self->timer_.cancel(); });
      });
    }
    timer_.async_wait([self = shared_from_this(), ticket](boost::system::error_code) {
      if (self->request_.cancel) self->request_.cancel->clear(ticket);
      self->start_attempt();  // checks for cancellation first
    });
  }

  void finish(Result<DispatchResult> result) {
    auto done = std::move(done_);
    done(std::move(result));
  }

  net::any_io_executor strand_;  // a strand, unless one thread runs the context
  net::steady_timer timer_;
  std::shared_ptr<CircuitBreakers> breakers_;
  std::shared_ptr<const DispatchOptions> options_;
  DispatchRequest request_;
  std::vector<DispatchTarget> targets_;
  Dispatcher::DoneFn done_;

  std::size_t index_ = 0;     // the target being tried
  int tries_ = 0;             // attempts on this target
  int attempts_ = 0;          // attempts in all
  int64_t started_unix_ms_ = 0;
  int64_t window_floor_ = 0;  // a context window known to be too small
  std::vector<std::string> notes_;  // why each target did not answer
  ErrorCategory last_category_ = ErrorCategory::provider;
  bool refused_ = false;  // admit refused a target (a spend cap)
  // The shortest wait among the targets skipped for an open circuit.
  std::optional<std::chrono::milliseconds> cooldown_;
};

}  // namespace

Dispatcher::Dispatcher(net::any_io_executor executor, std::shared_ptr<CircuitBreakers> breakers,
                       DispatchOptions options)
    : executor_(std::move(executor)),
      breakers_(std::move(breakers)),
      options_(std::make_shared<const DispatchOptions>(std::move(options))) {}

void Dispatcher::async_dispatch(DispatchRequest request, std::vector<DispatchTarget> targets,
                                DoneFn done) const {
  std::make_shared<Operation>(executor_, breakers_, options_, std::move(request), std::move(targets),
                              std::move(done))
      ->begin();
}

Result<DispatchResult> Dispatcher::dispatch(DispatchRequest request,
                                            std::vector<DispatchTarget> targets) const {
  std::promise<Result<DispatchResult>> promise;
  auto future = promise.get_future();
  async_dispatch(std::move(request), std::move(targets),
                 [&promise](Result<DispatchResult> r) { promise.set_value(std::move(r)); });
  return future.get();
}

}  // namespace tollgate
