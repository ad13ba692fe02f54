// Shared by the browser checks: Debian's chromium driven by playwright-core (never a
// downloaded browser), headless, with the flags this machine needs.
import { chromium } from 'playwright-core';

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

// Fails the check with a message (exit status 1).
export function fail(message) {
  console.error(`FAIL: ${message}`);
  process.exit(1);
}
