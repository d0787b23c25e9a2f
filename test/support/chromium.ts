import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import type { TestContext } from 'node:test';
import type { Browser } from 'playwright-core';

/** Debian's chromium, which `.ci/run` installs. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * Headless Debian Chromium for a page test (no sandbox, GPU, background networking, updates,
 * sync or first-run screens). Without the binary the test is skipped and null returned — except
 * in CI, where a missing chromium fails the test (`.ci/run` installs it).
 */
export async function launchChromiumOrSkip(t: TestContext): Promise<Browser | null> {
  if (!existsSync(CHROMIUM_PATH)) {
    if (process.env.CI) assert.fail('chromium is missing in CI (.ci/run installs it)');
    t.skip(`chromium is not installed (${CHROMIUM_PATH}); apt-get install chromium to run this check`);
    return null;
  }
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}
