// The demo page and the browser SDK in a real browser, against a real cluster:
//   node demo.mjs '<json>'   with {app, admin, public, secret, comets: {"<ws address>": pid},
//                                  qun, a: {uid, password}, b: {uid, password}, shots}
// Two pages as two users (separate browser contexts): a message from A appears on B; a qun
// message reaches both; the comet serving B is killed (SIGKILL) while A keeps sending, B
// reconnects to the other comet and has every acknowledged message exactly once; a message
// sent while B's page is closed appears once after it reopens; the original SDK's requests
// (msg-js.js) work from a page. Saves screenshots of the demo
// and the admin page (which must list the comets). Prints one JSON line of what it saw.
import { launch, fail } from './browser.mjs';

const cfg = JSON.parse(process.argv[2] || 'null');
if (!cfg) fail('usage: demo.mjs JSON');

const deadline = (ms) => Date.now() + ms;

// Polls `fn` (in node) until it returns a truthy value, at most `ms`.
async function until(what, ms, fn) {
  const end = deadline(ms);
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// Texts of the messages a page shows, in order.
const texts = (page) => page.$$eval('#messages li .text', (els) => els.map((e) => e.textContent));
const count = (list, text) => list.filter((t) => t === text).length;

async function openDemo(context, user, name) {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.errors = errors;
  const res = await page.goto(cfg.app + '/demo', { waitUntil: 'load', timeout: 15000 });
  if (!res || res.status() !== 200) fail(`${name}: /demo answered ${res && res.status()}`);
  if (user) {
    await page.fill('#uid', user.uid);
    await page.fill('#password', user.password);
    await page.click('#login button');
  }
  await page.waitForSelector('#status.on', { timeout: 20000 });
  return page;
}

// The comet a page's client is on ("host:port").
const serverOf = (page) => page.evaluate(() => window.demo.client.server);

async function sendUi(page, to, text) {
  await page.fill('#to', to);
  await page.fill('#text', text);
  await page.click('#compose button');
  await until(`"${text}" sent`, 10000, async () => (await page.inputValue('#text')) === '');
}

const browser = await launch();
const seen = {};
try {
  const ctxA = await browser.newContext({ viewport: { width: 900, height: 600 } });
  const ctxB = await browser.newContext({ viewport: { width: 900, height: 600 } });
  const a = await openDemo(ctxA, cfg.a, 'A');
  let b = await openDemo(ctxB, cfg.b, 'B');
  const bKey = cfg.b.uid + '@user';

  // Lists: B is A's contact, and the group is listed.
  await until('the lists', 10000, async () =>
    (await a.$(`#contacts li[data-name="${bKey}"]`)) && (await a.$(`#quns li[data-name="${cfg.qun}"]`)));

  // A user message, then a group message.
  await sendUi(a, bKey, 'hello-1');
  await until('hello-1 on B', 10000, async () => count(await texts(b), 'hello-1') === 1);
  await until('hello-1 on A (its own copy)', 10000, async () => count(await texts(a), 'hello-1') === 1);
  await sendUi(a, cfg.qun, 'qun-1');
  await until('qun-1 on both', 10000, async () =>
    count(await texts(a), 'qun-1') === 1 && count(await texts(b), 'qun-1') === 1);

  // Kill B's comet while A keeps sending; B must come back on the other one.
  const first = await serverOf(b);
  const pid = cfg.comets[first];
  if (!pid) fail(`B is on ${first}, not a known comet`);
  process.kill(pid, 'SIGKILL');
  const acked = [];
  const failed = [];
  let moved = null;
  let after = 0;
  const end = deadline(60000);
  for (let i = 0; after < 5; i++) {
    if (Date.now() > end) fail(`B did not move off ${first} within 60 s (sent ${i})`);
    const text = 'seq-' + i;
    const r = await a.evaluate(
      ([to, text]) => window.demo.api.send(to, text, { expire: 600 }).then(() => true, (e) => String(e.ret)),
      [bKey, text]);
    (r === true ? acked : failed).push(r === true ? text : text + ':' + r);
    if (!moved) {
      const now = await serverOf(b);
      if (now && now !== first) moved = now;
    } else if (r === true) {
      after++;
    }
    await new Promise((res) => setTimeout(res, 200));
  }
  await until('every acknowledged seq on B', 20000, async () => {
    const got = await texts(b);
    return acked.every((t) => count(got, t) === 1);
  });
  const gotB = await texts(b);
  const doubled = gotB.filter((t, i) => gotB.indexOf(t) !== i);
  if (doubled.length) fail(`B shows messages twice: ${doubled}`);
  seen.failover = { from: first, to: moved, acked: acked.length, failed: failed.length };

  // Closed page: a message sent meanwhile appears once after it reopens, older ones do not.
  await b.close();
  await sendUi(a, bKey, 'while-closed-1');
  b = await openDemo(ctxB, null, 'B again');
  await until('while-closed-1 on the reopened B', 15000, async () =>
    count(await texts(b), 'while-closed-1') === 1);
  const reopened = await texts(b);
  if (count(reopened, 'hello-1') || count(reopened, acked[0])) {
    fail(`the reopened page repeats older messages: ${reopened}`);
  }
  await sendUi(a, bKey, 'after-reopen');
  await until('after-reopen on B', 10000, async () => count(await texts(b), 'after-reopen') === 1);
  if (count(await texts(b), 'while-closed-1') !== 1) fail('while-closed-1 shown twice');
  await a.screenshot({ path: cfg.shots + '/demo.png' });
  seen.reopened = await texts(b);

  // The original SDK's protocol (msg-js.js) from a page: JSONP with a dotted callback name,
  // /sub with no ver (old message format), offline messages through /1/msg/get.
  const key = 'u3_Mozilla-5-' + Math.floor(Math.random() * 999) + '@user';
  const old = await ctxA.newPage();
  await old.goto(cfg.app + '/demo', { waitUntil: 'load' });
  await old.evaluate(async ({ pub, key }) => {
    window.GoPushCli = {};
    window.jsonp = (url) => new Promise((resolve, reject) => {
      const name = 'callback_' + Math.floor(Date.now() * Math.random()).toString(36);
      GoPushCli[name] = resolve;
      const s = document.createElement('script');
      s.onerror = reject;
      s.src = url + '&cb=GoPushCli.' + name;
      document.head.appendChild(s);
    });
    const node = await jsonp(pub + '/1/server/get?k=' + key + '&p=1');
    const [host, port] = node.data.server.split(':');
    window.frames_ = [];
    await new Promise((resolve, reject) => {
      const ws = new WebSocket('ws://' + host + ':' + parseInt(port) + '/sub?key=' + key + '&heartbeat=60');
      ws.onmessage = (e) => { frames_.push(e.data); if (e.data[0] === '+') resolve(); };
      ws.onerror = reject;
    });
  }, { pub: cfg.public, key });
  const pushed = await fetch(`${cfg.admin}/1/admin/push/private?key=${encodeURIComponent(key)}&expire=600`, {
    method: 'POST', headers: { 'X-Appmsg-Secret': cfg.secret }, body: '{"text":"old-sdk"}' });
  if ((await pushed.json()).ret !== 0) fail('the admin push to the old-SDK key failed');
  const frame = await until('the old-format frame', 10000, () =>
    old.evaluate(() => frames_.find((f) => f[0] === '{')));
  const m = JSON.parse(frame);
  if (m.msg !== '{"text":"old-sdk"}' || m.gid !== 0 || !(m.mid > 0)) fail(`old format frame: ${frame}`);
  const offline = await old.evaluate(({ pub, key }) =>
    jsonp(pub + '/1/msg/get?k=' + key + '&t=Mozilla&m=0&p=0'), { pub: cfg.public, key });
  if (!offline.data || offline.data.msgs.length !== 1 || offline.data.msgs[0].mid !== m.mid) {
    fail(`/1/msg/get for the old SDK: ${JSON.stringify(offline)}`);
  }
  seen.originalSdk = { key, mid: m.mid };
  // The SDK as an ES module exports the same classes.
  const esm = await old.evaluate(async () => {
    const m = await import('/app/static/appmsg.mjs');
    return m.Client === window.AppMsg.Client && typeof m.connectUser === 'function' && m.default === window.AppMsg;
  });
  if (!esm) fail('appmsg.mjs does not export the SDK');

  // The admin page: behind the secret, then the comets listed.
  const admin = await ctxA.newPage();
  await admin.goto(cfg.admin + '/admin', { waitUntil: 'load', timeout: 15000 });
  await admin.waitForFunction(() => /secret/.test(document.getElementById('error').textContent),
    null, { timeout: 10000 });
  await admin.fill('#secret', cfg.secret);
  await admin.click('#auth button');
  await admin.waitForSelector('#comets tbody tr', { timeout: 10000 });
  await admin.waitForFunction(() => document.getElementById('ring').textContent.includes('node'),
    null, { timeout: 10000 });
  seen.adminRows = await admin.$$eval('#comets tbody tr', (rows) => rows.map((r) => r.dataset.node));
  await admin.screenshot({ path: cfg.shots + '/admin.png', fullPage: true });
  seen.errors = [...a.errors, ...b.errors];
  console.log(JSON.stringify(seen));
  if (seen.errors.length) fail(`page errors: ${seen.errors}`);
} finally {
  await browser.close();
}
