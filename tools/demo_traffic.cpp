#include "tools/demo_traffic.hpp"

#include <random>

namespace tollgate::tools {
namespace {

// Ticket texts the triage feature sees again and again: templates from
// forms and canned customer phrasing, which is why its cache pays.
const char* kTickets[] = {
    "I was charged twice for my subscription this month. Please refund the duplicate charge.",
    "The app crashes when I upload a photo larger than 10 MB.",
    "How do I change the email address on my account?",
    "My invoice shows the wrong VAT number for our company.",
    "I cannot log in after resetting my password; the link says it expired.",
    "Please cancel my plan at the end of the billing period.",
    "The export to CSV is missing the last column since yesterday.",
    "Can I move my seat to a colleague who joined the team?",
};

const char* kCode[] = {
    "Why does this Python loop never end?\n\nwhile i < len(items):\n    if items[i] is None:\n        continue\n    i += 1",
    "Write a SQL query that returns each customer's latest order with its total.",
    "Explain the difference between std::unique_ptr and std::shared_ptr with an example.",
    "This Go handler leaks goroutines under load. How do I find and fix the leak?",
};

const char* kChat[] = {
    "Draft a friendly reminder to the team about Friday's release freeze.",
    "What are three ways to reduce our cloud bill without slowing the product down?",
    "Turn these notes into a short agenda: pricing review, Q3 hiring, onboarding revamp.",
    "Suggest a name for an internal tool that routes LLM requests by cost.",
};

std::string paragraph(std::mt19937& rng, int sentences) {
  static const char* kSentences[] = {
      "Revenue grew in every region except the north, where two large renewals slipped to next quarter. ",
      "Support volume rose after the pricing change, mostly from small businesses comparing tiers. ",
      "The platform team cut p95 latency by a third by moving the ranking service closer to its cache. ",
      "Churn among annual plans stayed flat, while monthly plans churned slightly more in March. ",
      "The security review found no critical issues; two medium findings are scheduled for the next sprint. ",
      "Hiring is on plan for engineering and behind plan for sales, where two offers were declined. ",
  };
  std::string out;
  for (int i = 0; i < sentences; ++i) out += kSentences[rng() % 6];
  return out;
}

Request base(std::string team, std::string user, std::string task) {
  Request r;
  r.team = std::move(team);
  r.user = std::move(user);
  r.tags["task"] = std::move(task);
  return r;
}

void set_prompt(Request& r, const std::string& system, const std::string& user) {
  r.body["messages"] = nlohmann::json::array();
  if (!system.empty()) r.body["messages"].push_back({{"role", "system"}, {"content", system}});
  r.body["messages"].push_back({{"role", "user"}, {"content", user}});
}

}  // namespace

std::vector<DemoRequest> demo_traffic(int n) {
  std::mt19937 rng(20261123);
  std::vector<DemoRequest> out;
  out.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    const unsigned pick = rng() % 100;
    DemoRequest d;
    if (pick < 45) {  // ticket triage: high volume, repeated templates
      d.feature = "ticket triage";
      d.request = base("support", "triage-bot", "classify");
      set_prompt(d.request, "Label the ticket: billing, bug, account, or other. Answer with the label only.",
                 kTickets[rng() % 8]);
      d.request.max_tokens = 5;
    } else if (pick < 60) {  // ticket summaries for agents
      d.feature = "ticket summaries";
      d.request = base("support", "agent-assist", "summarize");
      set_prompt(d.request, "Summarize the conversation for the next agent in three bullet points.",
                 paragraph(rng, 6 + static_cast<int>(rng() % 6)));
      d.request.max_tokens = 200;
    } else if (pick < 72) {  // code help
      d.feature = "code assistant";
      d.request = base("eng", "dev-" + std::to_string(rng() % 12), "code");
      set_prompt(d.request, "", kCode[rng() % 4]);
      d.request.max_tokens = 600;
    } else if (pick < 80) {  // long reports
      d.feature = "report analysis";
      d.request = base("research", "analyst-" + std::to_string(rng() % 4), "summarize");
      // The whole report goes in the prompt: ~500 KB, over 100k tokens, so
      // only a million-token model takes it.
      set_prompt(d.request, "You are a financial analyst.",
                 "Summarize the attached annual report:\n" + paragraph(rng, 5200 + static_cast<int>(rng() % 800)));
      d.request.max_tokens = 1500;
    } else if (pick < 92) {  // internal chat: interns, a small cap that downgrades
      d.feature = "intern chat";
      d.request = base("interns", "intern-" + std::to_string(rng() % 5), "chat");
      set_prompt(d.request, "", kChat[rng() % 4]);
      d.request.max_tokens = 400;
    } else {  // growth experiments: a tiny cap that denies
      d.feature = "growth experiments";
      d.request = base("growth", "growth-bot", "chat");
      set_prompt(d.request, "Write marketing copy.", kChat[rng() % 4]);
      d.request.max_tokens = 800;
    }
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace tollgate::tools
