// The official `openai` npm client against `tollgate serve`, which forwards
// to `tollgate-mock`: what an application switching its base URL to the
// gateway would see. Run by ctest (tests/serve_node.cmake) with
//   TOLLGATE=<tollgate binary> TOLLGATE_MOCK=<tollgate-mock binary>
//   TOLLGATE_SOURCE=<repository root>   node --test
// Every process is started on free ports with a temporary ledger, and
// stopped by the test.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';

const TOLLGATE = process.env.TOLLGATE;
const MOCK = process.env.TOLLGATE_MOCK;
const SOURCE = process.env.TOLLGATE_SOURCE;
if (!TOLLGATE || !MOCK || !SOURCE) throw new Error('set TOLLGATE, TOLLGATE_MOCK and TOLLGATE_SOURCE');

const DEADLINE_MS = 60_000;  // generous: sanitizer builds are slow
const dir = mkdtempSync(join(tmpdir(), 'tollgate-serve-'));
const keysPath = join(dir, 'keys.json');
writeFileSync(keysPath, JSON.stringify({
  keys: [
    { key: 'tg-test-support', team: 'support', user: 'helpdesk-bot' },
    { key: 'tg-test-tiny-team', team: 'tiny' },
  ],
}));

// Polls `check` until it returns a truthy value or the deadline passes.
async function waitFor(what, check, deadlineMs = DEADLINE_MS) {
  const end = Date.now() + deadlineMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// Starts a process and resolves with the first match of `pattern` on its stdout.
function startProcess(cmd, args, pattern) {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (d) => { err += d; });
  const ready = new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(pattern);
      if (m) resolve(m);
    });
    child.on('exit', (code) => reject(new Error(`${cmd} exited with ${code} before it was ready:\n${err}`)));
  });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, ready, exited, stderr: () => err };
}

async function startMock(extra = []) {
  const p = startProcess(MOCK, ['--port', '0', '--threads', '2', ...extra], /listening on (http:\S+)/);
  const [, url] = await p.ready;
  return { ...p, url };
}

async function startGateway(mockUrl, name, keys = keysPath, extra = [], ledgerName = name) {
  const policyPath = join(dir, `${name}_policy.lua`);
  copyFileSync(join(SOURCE, 'tests/data/serve_policy.lua'), policyPath);
  const ledger = join(dir, `${ledgerName}.db`);
  const log = join(dir, `${name}.log`);
  const p = startProcess(TOLLGATE, ['serve', '--policy', policyPath, '--keys', keys, '--listen', '127.0.0.1:0',
    '--ledger', ledger, '--log', log, '--upstream', `*=${mockUrl}`, ...extra], /listening on (http:\S+)/);
  const [, url] = await p.ready;
  return { ...p, url, ledger, log, policyPath, logLines: () => readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l)) };
}

async function stop(p) {
  if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
  return p.exited;
}

function client(gateway, apiKey = 'tg-test-support', options = {}) {
  return new OpenAI({ apiKey, baseURL: `${gateway.url}/v1`, maxRetries: 0, timeout: DEADLINE_MS, ...options });
}

let mock;
let gw;
before(async () => {
  mock = await startMock();
  // One I/O thread, as the benchmark runs it (no strands: adapters/http/serial_executor.hpp);
  // the other gateways here run the default two.
  gw = await startGateway(mock.url, 'main', keysPath, ['--threads', '1']);
});
after(async () => {
  if (gw) assert.equal((await stop(gw)).code, 0, gw.stderr());
  if (mock) await stop(mock);
});

test('a completion', async () => {
  const r = await client(gw).chat.completions.create({
    model: 'anything', messages: [{ role: 'user', content: 'Say hello' }], max_tokens: 50,
  });
  assert.equal(r.object, 'chat.completion');
  assert.match(r.choices[0].message.content, /Mock answer from gpt-4o-mini to: Say hello/);
  assert.equal(r.choices[0].finish_reason, 'stop');
  assert.ok(r.usage.prompt_tokens > 0 && r.usage.completion_tokens > 0);

  // The provider's bytes pass through as they came: the mock writes "id"
  // first, where serializing the parsed answer again would sort the keys.
  const raw = await client(gw).chat.completions.create({
    model: 'anything', messages: [{ role: 'user', content: 'Say hello raw' }], max_tokens: 50,
  }).asResponse();
  const text = await raw.text();
  assert.match(text, /^\{"id":"mock-\d+","object":"chat\.completion",/);
  assert.equal(JSON.parse(text).choices[0].message.content, 'Mock answer from gpt-4o-mini to: Say hello raw');
});

test("quality scores: a key scores its own team's answers, never another team's", async () => {
  const { response } = await client(gw).chat.completions.create({
    model: 'anything', messages: [{ role: 'user', content: 'Score me' }], max_tokens: 20,
  }).withResponse();
  const id = response.headers.get('x-request-id');
  const post = (key, body) => fetch(`${gw.url}/v1/quality`, {
    method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  let r = await post('tg-test-support', { request_id: id, score: 0.9, source: 'thumbs' });
  assert.equal(r.status, 200);
  assert.deepEqual(await r.json(), { object: 'quality', request_id: id, score: 0.9, source: 'thumbs' });
  // Another team's key: the request reads as unknown.
  r = await post('tg-test-tiny-team', { request_id: id, score: 0.1 });
  assert.equal(r.status, 400);
  assert.match((await r.json()).error.message, /no request/);
  r = await post('tg-test-support', { request_id: id, score: 2 });
  assert.equal(r.status, 400);
  assert.equal((await fetch(`${gw.url}/v1/quality`, { headers: { authorization: 'Bearer tg-test-support' } })).status, 405);
  // Committed before the 200: another process reads it from the ledger.
  const report = JSON.parse(execFileSync(TOLLGATE, ['report', '--ledger', gw.ledger, '--by', 'team', '--format', 'json']));
  assert.equal(report.total.scored, 1);
});

test('a streamed completion, with usage', async () => {
  const stream = await client(gw).chat.completions.create({
    model: 'anything', messages: [{ role: 'user', content: 'Stream please' }], max_tokens: 50,
    stream: true, stream_options: { include_usage: true },
  });
  let text = '';
  let usage = null;
  let finish = null;
  for await (const chunk of stream) {
    assert.equal(chunk.object, 'chat.completion.chunk');
    for (const c of chunk.choices) {
      text += c.delta?.content ?? '';
      finish = c.finish_reason ?? finish;
    }
    if (chunk.usage) usage = chunk.usage;
  }
  assert.equal(text, 'Mock answer from gpt-4o-mini to: Stream please');
  assert.equal(finish, 'stop');
  assert.ok(usage && usage.completion_tokens > 0, 'the final chunk carries usage');
});

test('a stream names its request, route and model in its head, so its answer can be scored', async () => {
  const { data: stream, response } = await client(gw).chat.completions.create({
    model: 'anything', messages: [{ role: 'user', content: 'Stream and score' }], max_tokens: 50, stream: true,
  }).withResponse();
  assert.equal(response.headers.get('x-tollgate-route'), 'default');
  assert.equal(response.headers.get('x-tollgate-model'), 'gpt-4o-mini');
  assert.equal(response.headers.get('x-tollgate-cache'), 'miss');
  const id = response.headers.get('x-request-id');
  assert.match(id, /^tg-/);
  // The cost comes at the end as an SSE comment, which the client skips.
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
  assert.equal(text, 'Mock answer from gpt-4o-mini to: Stream and score');
  const r = await fetch(`${gw.url}/v1/quality`, {
    method: 'POST', headers: { authorization: 'Bearer tg-test-support', 'content-type': 'application/json' },
    body: JSON.stringify({ request_id: id, score: 0.8 }),
  });
  assert.equal(r.status, 200, await r.text());
});

test('open circuits on every candidate are a 503 with Retry-After the client can act on; a capped team still gets its 429', async () => {
  const failing = await startMock(['--script', 'gpt-4o-mini=fault=server_error']);
  const g = await startGateway(failing.url, 'circuits');
  try {
    const ask = (key = 'tg-test-support') => client(g, key).chat.completions.create(
      { model: 'x', messages: [{ role: 'user', content: 'anyone there?' }], max_tokens: 5 });
    // Each request's failed attempts count against the model's breaker,
    // until it opens and the next request is not sent at all.
    const cooling = await waitFor('the circuit to open', async () => {
      try {
        await ask();
      } catch (e) {
        if (e.status === 503) return e;
        assert.equal(e.status, 502, e.message);
      }
      return null;
    });
    assert.ok(cooling instanceof OpenAI.InternalServerError, `got ${cooling.constructor.name}`);
    assert.equal(cooling.code, 'providers_cooling_down');
    assert.match(cooling.message, /cooling down/);
    const wait = Number(cooling.headers.get('retry-after'));
    assert.ok(wait >= 1 && wait <= 30, `retry-after ${cooling.headers.get('retry-after')}`);
    assert.equal(cooling.headers.get('x-should-retry'), null);
    await assert.rejects(ask('tg-test-tiny-team'), (e) => e.status === 429 && e.code === 'budget_exceeded');
  } finally {
    assert.equal((await stop(g)).code, 0, g.stderr());
    await stop(failing);
  }
});

test('an unknown key is a 401 in the OpenAI error format', async () => {
  await assert.rejects(
    client(gw, 'tg-not-a-key').chat.completions.create({ model: 'x', messages: [{ role: 'user', content: 'hi' }] }),
    (e) => {
      assert.ok(e instanceof OpenAI.AuthenticationError, `got ${e.constructor.name}`);
      assert.equal(e.status, 401);
      assert.equal(e.code, 'invalid_api_key');
      assert.ok(!e.message.includes('tg-not-a-key'), 'the key is not echoed');
      return true;
    });
});

test('a team over its cap gets a 429 naming team, window and cap', async () => {
  await assert.rejects(
    client(gw, 'tg-test-tiny-team').chat.completions.create({
      model: 'x', messages: [{ role: 'user', content: 'hi' }], max_tokens: 100,
    }),
    (e) => {
      assert.ok(e instanceof OpenAI.RateLimitError, `got ${e.constructor.name}`);
      assert.equal(e.status, 429);
      assert.equal(e.code, 'budget_exceeded');
      assert.match(e.message, /team 'tiny'/);
      assert.match(e.message, /day cap of \$0\.000001/);
      return true;
    });
});

test('the team comes from the key, never the body; tags from the header and metadata', async () => {
  const c = client(gw);
  const byHeader = await c.chat.completions.create(
    { model: 'x', messages: [{ role: 'user', content: 'fix my loop' }], max_tokens: 50, user: 'someone' },
    { headers: { 'x-tollgate-tags': 'task=code, tier=free' } }).withResponse();
  assert.equal(byHeader.response.headers.get('x-tollgate-route'), 'code');
  assert.equal(byHeader.data.model, 'deepseek-chat');

  const byMetadata = await c.chat.completions.create({
    model: 'x', messages: [{ role: 'user', content: 'fix my loop' }], max_tokens: 50, metadata: { task: 'code' },
  }).withResponse();
  assert.equal(byMetadata.response.headers.get('x-tollgate-route'), 'code');

  const id = byHeader.response.headers.get('x-request-id');
  const line = await waitFor('the log line', () => gw.logLines().find((l) => l.request_id === id));
  assert.equal(line.team, 'support');
  assert.equal(line.user, 'helpdesk-bot', "the key's user wins over the body's");
  assert.deepEqual(line.tags, { task: 'code', tier: 'free' });
  assert.equal(line.route, 'code');
  const raw = readFileSync(gw.log, 'utf8');
  assert.ok(!raw.includes('tg-test-support'), 'no key in the log');
  assert.ok(!raw.includes('fix my loop'), 'no prompt in the log');
});

test('50 concurrent requests', async () => {
  const c = client(gw);
  const results = await Promise.all(Array.from({ length: 50 }, (_, i) => c.chat.completions.create({
    model: 'x', messages: [{ role: 'user', content: `request ${i}` }], max_tokens: 30,
  })));
  results.forEach((r, i) => assert.match(r.choices[0].message.content, new RegExp(`to: request ${i}$`)));
  const metrics = await (await fetch(`${gw.url}/metrics`)).text();
  const ok = metrics.match(/tollgate_requests_total\{team="support",route="default",model="gpt-4o-mini",status="200"\} (\d+)/);
  assert.ok(ok && Number(ok[1]) >= 50, metrics);
});

test('models, spend and health', async () => {
  const models = await client(gw).models.list();
  const ids = models.data.map((m) => m.id).sort();
  assert.deepEqual(ids, ['deepseek-chat', 'gpt-4o-mini']);
  const spend = await (await fetch(`${gw.url}/v1/spend?window=day`, { headers: { authorization: 'Bearer tg-test-support' } })).json();
  assert.equal(spend.team, 'support');
  assert.equal(spend.windows[0].cap_usd, 100);
  assert.ok(spend.windows[0].spent_usd > 0);
  const other = await fetch(`${gw.url}/v1/spend?team=tiny`, { headers: { authorization: 'Bearer tg-test-support' } });
  assert.equal(other.status, 403);
  assert.equal((await fetch(`${gw.url}/healthz`)).status, 200);
});

test('bad JSON is a 400', async () => {
  const r = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST', headers: { authorization: 'Bearer tg-test-support', 'content-type': 'application/json' }, body: '{"messages": [',
  });
  assert.equal(r.status, 400);
  const body = await r.json();
  assert.equal(body.error.type, 'invalid_request_error');
});

test("a policy function's error is a 422 naming where it failed; its words, which quote the prompt, reach only the log", async () => {
  await assert.rejects(
    client(gw).chat.completions.create(
      { model: 'x', messages: [{ role: 'user', content: 'private words 7f3a' }], max_tokens: 5 },
      { headers: { 'x-tollgate-tags': 'task=careless', 'x-request-id': 'careless-1' } }),
    (e) => e.status === 422 && /route 'careless' when/.test(e.error.message) &&
      /gateway's log/.test(e.error.message) && !/private words/.test(e.error.message));
  const line = await waitFor('its log line', () => gw.logLines().find((l) => l.request_id === 'careless-1'));
  assert.equal(line.status, 422);
  assert.match(line.error, /saw: private words 7f3a/);
});

test('x-tollgate-timeout-ms bounds the whole request: a 504 in the OpenAI error format', async () => {
  const slowMock = await startMock(['--script', 'gpt-4o-mini=latency_ms=30000']);
  const g = await startGateway(slowMock.url, 'deadline');
  try {
    await assert.rejects(
      client(g).chat.completions.create(
        { model: 'x', messages: [{ role: 'user', content: 'too slow' }], max_tokens: 5 },
        { headers: { 'x-tollgate-timeout-ms': '200' } }),
      (e) => e.status === 504 && /timeout_ms of 200 ms/.test(e.error.message));
  } finally {
    assert.equal((await stop(g)).code, 0, g.stderr());
    await stop(slowMock);
  }
});

test('a client that hangs up stops its request: the upstream wait is cancelled, a 499 logged, nothing left reserved', async () => {
  // The mock would answer after 10 minutes, and the provider's first-byte
  // timeout is 120 s: only the client's hanging up can end these requests
  // within the deadline.
  const slowMock = await startMock(['--script', 'gpt-4o-mini=latency_ms=600000']);
  const g = await startGateway(slowMock.url, 'hangup');
  const reserved = async () => {
    const r = await fetch(`${g.url}/v1/spend?team=support&window=day`, { headers: { authorization: 'Bearer tg-test-support' } });
    return (await r.json()).windows[0].reserved_nanos;
  };
  try {
    for (const stream of [false, true]) {
      const id = `hangup-${stream ? 'stream' : 'whole'}`;
      const controller = new AbortController();
      const pending = client(g).chat.completions.create(
        { model: 'x', messages: [{ role: 'user', content: 'nobody will read this' }], max_tokens: 5, stream },
        { signal: controller.signal, headers: { 'x-request-id': id } });
      // Its worst case is reserved once the engine has sent it upstream.
      await waitFor(`${id} to be in flight`, async () => (await reserved()) > 0);
      controller.abort();
      await assert.rejects(pending);
      const line = await waitFor(`${id}'s log line`, () => g.logLines().find((l) => l.request_id === id));
      assert.equal(line.status, 499);
      assert.match(line.error, /^the client closed the connection during /);
      await waitFor('its reservation to be released', async () => (await reserved()) === 0);
    }
  } finally {
    assert.equal((await stop(g)).code, 0, g.stderr());
    await stop(slowMock);
  }
});

test('SIGHUP with a broken policy keeps the old one serving', async () => {
  writeFileSync(gw.policyPath, 'route "default" { try = { "gpt-5o-typo" } }\n');
  gw.child.kill('SIGHUP');
  const line = await waitFor('the reload log line', () => gw.logLines().find((l) => l.event === 'reload'));
  assert.equal(line.ok, false);
  assert.match(line.error, /gpt-5o-typo/);
  const r = await client(gw).chat.completions.create({ model: 'x', messages: [{ role: 'user', content: 'still there?' }], max_tokens: 20 });
  assert.match(r.choices[0].message.content, /Mock answer from gpt-4o-mini/);
});

test('SIGHUP reloads the keys file: new keys work, removed ones are 401, a broken file keeps the old keys', async () => {
  const ownKeys = join(dir, 'reload_keys.json');
  writeFileSync(ownKeys, JSON.stringify({ keys: [{ key: 'tg-old-key', team: 'support' }] }));
  const g = await startGateway(mock.url, 'keys_reload', ownKeys);
  const ask = (key) => client(g, key).chat.completions.create({ model: 'x', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 });
  const reloads = () => g.logLines().filter((l) => l.event === 'reload');
  try {
    await ask('tg-old-key');
    await assert.rejects(ask('tg-new-key'), (e) => e.status === 401);

    writeFileSync(ownKeys, JSON.stringify({ keys: [{ key: 'tg-new-key', team: 'support', user: 'rotated' }] }));
    g.child.kill('SIGHUP');
    const first = await waitFor('the first reload line', () => reloads()[0]);
    assert.equal(first.ok, true);
    assert.equal(first.keys_ok, true);
    assert.equal(first.keys, 1);
    await ask('tg-new-key');
    await assert.rejects(ask('tg-old-key'), (e) => e.status === 401);

    // A broken file is refused; the keys loaded last keep working, and the
    // error names the problem without printing any key.
    writeFileSync(ownKeys, '{"keys": [{"key": "tg-half-written", ');
    g.child.kill('SIGHUP');
    const second = await waitFor('the second reload line', () => reloads()[1]);
    assert.equal(second.ok, false);
    assert.equal(second.policy_ok, true);
    assert.equal(second.keys_ok, false);
    assert.match(second.keys_error, /reload_keys\.json/);
    assert.doesNotMatch(JSON.stringify(second), /tg-half-written|tg-new-key/);
    await ask('tg-new-key');
  } finally {
    assert.equal((await stop(g)).code, 0, g.stderr());
  }
});

test('with --busy-poll-us the gateway answers, streams and stops as usual', async () => {
  const g = await startGateway(mock.url, 'busypoll', keysPath, ['--busy-poll-us', '300', '--threads', '2']);
  try {
    const c = client(g);
    const answers = await Promise.all(Array.from({ length: 10 }, (_, i) =>
      c.chat.completions.create({ model: 'x', messages: [{ role: 'user', content: `poll ${i}` }], max_tokens: 20 })));
    answers.forEach((a, i) => assert.equal(a.choices[0].message.content, `Mock answer from gpt-4o-mini to: poll ${i}`));
    const stream = await c.chat.completions.create({
      model: 'x', messages: [{ role: 'user', content: 'poll stream' }], max_tokens: 20, stream: true,
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    assert.equal(text, 'Mock answer from gpt-4o-mini to: poll stream');
    g.child.kill('SIGTERM');
    const { code } = await g.exited;
    assert.equal(code, 0, g.stderr());
    assert.equal(g.logLines().filter((l) => l.status === 200).length, 11);
  } finally {
    await stop(g);
  }
});

test("two gateways on one ledger file: each one's caps count the other's spend", async () => {
  const a = await startGateway(mock.url, 'shared-a', keysPath, [], 'shared');
  const b = await startGateway(mock.url, 'shared-b', keysPath, [], 'shared');
  try {
    const daySpent = async (g) => {
      const r = await fetch(`${g.url}/v1/spend?window=day`, { headers: { authorization: 'Bearer tg-test-support' } });
      return (await r.json()).windows[0].spent_usd;
    };
    assert.equal(await daySpent(b), 0);
    const c = client(a);
    await Promise.all(Array.from({ length: 5 }, (_, i) => c.chat.completions.create({
      model: 'x', messages: [{ role: 'user', content: `through a ${i}` }], max_tokens: 30,
    })));
    const spentThroughA = await daySpent(a);
    assert.ok(spentThroughA > 0);
    // B never saw these requests; it reads A's rows from the shared file.
    await waitFor("B counting A's spend", async () => (await daySpent(b)) === spentThroughA);
    // And a request through B adds to A's count the same way, once.
    await client(b).chat.completions.create({ model: 'x', messages: [{ role: 'user', content: 'through b' }], max_tokens: 30 });
    const both = await daySpent(b);
    assert.ok(both > spentThroughA);
    await waitFor("A counting B's spend", async () => (await daySpent(a)) === both);
  } finally {
    assert.equal((await stop(a)).code, 0, a.stderr());
    assert.equal((await stop(b)).code, 0, b.stderr());
  }
});

test('SIGTERM during load loses no acknowledged ledger row', async () => {
  // A slow upstream, so requests are in flight when the signal comes.
  const slowMock = await startMock(['--script', 'gpt-4o-mini=latency_ms=150']);
  const g = await startGateway(slowMock.url, 'sigterm');
  try {
    const c = client(g);
    let acknowledged = 0;
    let sent = 0;
    const load = Array.from({ length: 40 }, async (_, i) => {
      // Keep sending until the gateway stops accepting.
      for (let n = 0; ; ++n) {
        sent += 1;
        try {
          await c.chat.completions.create({ model: 'x', messages: [{ role: 'user', content: `load ${i}.${n}` }], max_tokens: 20 });
          acknowledged += 1;
        } catch {
          return;
        }
      }
    });
    await waitFor('requests to complete', () => acknowledged >= 40);
    g.child.kill('SIGTERM');
    await Promise.all(load);
    const { code } = await g.exited;
    assert.equal(code, 0, g.stderr());
    const report = JSON.parse(execFileSync(TOLLGATE, ['report', '--ledger', g.ledger, '--by', 'team', '--format', 'json']));
    const rows = report.total.requests;
    assert.ok(acknowledged > 0 && rows >= acknowledged, `${acknowledged} answered, ${rows} in the ledger (${sent} sent)`);
  } finally {
    await stop(g);
    await stop(slowMock);
  }
});
