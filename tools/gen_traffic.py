#!/usr/bin/env python3
"""Writes examples/traffic/sample.jsonl, the sample traffic log for
`tollgate simulate`: three UTC days of requests from teams support, research
and interns, tagged with tasks classify / summarize / code / chat /
long-document, in realistic proportions and sizes. Deterministic (fixed
seed), so the file and the figures in docs stay reproducible:

    python3 tools/gen_traffic.py > examples/traffic/sample.jsonl

It suits policies/team_caps.lua (caps, premium tier, downgrades: the
intern-bot's long-document batch runs into its $0.50 daily cap) and
policies/by_task.lua (task and lang tags).
"""
import json
import random
import sys
from datetime import datetime, timedelta, timezone

SEED = 20260514
START = datetime(2026, 5, 11, tzinfo=timezone.utc)
DAYS = 3
PER_DAY = 1000

# task: (input token range, output token range, max_tokens)
TASKS = {
    "classify": ((150, 900), (3, 25), 32),
    "summarize": ((1500, 7000), (120, 450), 512),
    "code": ((400, 5000), (150, 1000), 1024),
    "chat": ((80, 1800), (40, 500), 800),
    "long-document": ((30000, 120000), (300, 1500), 2048),
}

# team: (share of traffic, users, task weights, share tagged tier=premium)
TEAMS = {
    "support": (0.58, ["helpdesk-bot", "agent-ana", "agent-ben", "agent-chloe"],
                {"classify": 45, "chat": 35, "summarize": 15, "code": 2, "long-document": 3}, 0.04),
    "research": (0.27, ["analyst-dev", "analyst-eva", "analyst-fei"],
                 {"summarize": 30, "long-document": 20, "code": 25, "chat": 20, "classify": 5}, 0.12),
    "interns": (0.15, ["intern-bot", "intern-gus", "intern-hana"],
                {"chat": 30, "code": 25, "long-document": 30, "summarize": 10, "classify": 5}, 0.0),
}

SHORT_TEXTS = [
    "Is this message spam? 'You won a free cruise, click here'",
    "Classify the sentiment: the delivery was late again and nobody answered my emails.",
    "Which department should handle: my invoice shows the wrong VAT number.",
]


def pick(rng, weights):
    names = list(weights)
    return rng.choices(names, weights=[weights[n] for n in names])[0]


def line_for(rng, ts, team):
    _, users, tasks, premium = TEAMS[team]
    task = pick(rng, tasks)
    (in_lo, in_hi), (out_lo, out_hi), max_tokens = TASKS[task]
    user = rng.choice(users)
    tags = {"task": task}
    if rng.random() < premium:
        tags["tier"] = "premium"
    if team == "interns":
        tags["tier"] = "free"
    if task == "chat" and rng.random() < 0.06:
        tags["lang"] = "zh"
    line = {"ts": ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z",
            "team": team, "user": user, "tags": tags}
    if task == "classify" and rng.random() < 0.05:
        line["messages"] = [{"role": "user", "content": rng.choice(SHORT_TEXTS)}]
    else:
        line["input_tokens"] = int(rng.triangular(in_lo, in_hi, in_lo + (in_hi - in_lo) * 0.3))
    if rng.random() < 0.97:  # a few logs lack the answer's size
        line["output_tokens"] = int(rng.triangular(out_lo, out_hi, out_lo + (out_hi - out_lo) * 0.3))
    line["max_tokens"] = max_tokens
    return line


def batch_line(rng, ts):
    """The intern bot's nightly batch: long documents, one after another.
    It is what runs into the bot's $0.50 daily cap (and is downgraded)."""
    (in_lo, in_hi), (out_lo, out_hi), max_tokens = TASKS["long-document"]
    return {"ts": ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z",
            "team": "interns", "user": "intern-bot", "tags": {"task": "long-document", "tier": "free"},
            "input_tokens": rng.randint(in_lo, in_hi), "output_tokens": rng.randint(out_lo, out_hi),
            "max_tokens": max_tokens}


BATCH_SIZE = 90
BATCH_START_HOUR = 1


def main():
    rng = random.Random(SEED)
    team_names = list(TEAMS)
    out = sys.stdout
    for day in range(DAYS):
        # Office hours carry most traffic; nights carry the batches.
        times = sorted(
            START + timedelta(days=day, seconds=rng.triangular(0, 86400, 13 * 3600)) for _ in range(PER_DAY))
        batch = [START + timedelta(days=day, hours=BATCH_START_HOUR, seconds=40 * i) for i in range(BATCH_SIZE)]
        lines = [(ts, None) for ts in times] + [(ts, "batch") for ts in batch]
        lines.sort(key=lambda item: item[0])
        for ts, kind in lines:
            if kind == "batch":
                line = batch_line(rng, ts)
            else:
                team = rng.choices(team_names, weights=[TEAMS[t][0] for t in team_names])[0]
                line = line_for(rng, ts, team)
            out.write(json.dumps(line, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
