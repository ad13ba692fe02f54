// The QR page in a real browser: node erweima.mjs <page-url> <expected-nickname> <screenshot>
// Checks that the page renders (title, stylesheet, photo and QR image loaded), that the
// nickname shows as text however hostile (no script of it runs, no dialog opens), and saves a
// screenshot. Prints one JSON line of what it saw.
import { launch, fail } from './browser.mjs';

const [url, nickname, screenshot] = process.argv.slice(2);
if (!url || nickname === undefined || !screenshot) fail('usage: erweima.mjs URL NICKNAME PNG');

const browser = await launch();
try {
  const page = await browser.newPage({ viewport: { width: 420, height: 640 } });
  const dialogs = [];
  page.on('dialog', async (d) => { dialogs.push(d.message()); await d.dismiss(); });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  const response = await page.goto(url, { waitUntil: 'load', timeout: 15000 });
  if (!response || response.status() !== 200) fail(`status ${response && response.status()}`);
  const seen = await page.evaluate(() => {
    const loaded = (sel) => {
      const img = document.querySelector(sel);
      return !!img && img.complete && img.naturalWidth > 0;
    };
    return {
      title: document.title,
      heading: document.querySelector('h1.nickname')?.textContent,
      name: document.querySelector('dd.name')?.textContent,
      scripts: document.scripts.length,
      pwned: window.pwned === 1,
      background: getComputedStyle(document.body).backgroundColor,
      photo: loaded('img.photo'),
      qr: loaded('img.qr'),
      qrWidth: document.querySelector('img.qr')?.naturalWidth,
    };
  });
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(JSON.stringify({ ...seen, dialogs, errors }));
  if (seen.title !== '用户信息') fail(`title ${seen.title}`);
  if (seen.heading !== nickname || seen.name !== nickname) fail(`nickname shown as ${seen.heading}`);
  if (seen.scripts !== 0 || seen.pwned || dialogs.length) fail('a script of the nickname ran');
  if (seen.background !== 'rgb(242, 244, 247)') fail(`user.css not applied (${seen.background})`);
  if (!seen.photo || !seen.qr) fail('an image did not load');
} finally {
  await browser.close();
}
