import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

/**
 * Debian's Chromium, driven by playwright-core (never a downloaded browser): `.ci/run` installs
 * it. CHROMIUM_PATH points elsewhere.
 */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: install Debian's chromium (apt-get install chromium) or set CHROMIUM_PATH`);
  return chromium.launch({ executablePath: CHROMIUM });
}

/** What a page did while it loaded: console errors, page errors, and every request it made. */
export interface PageLoad {
  page: Page;
  errors: string[];
  requests: string[];
}

/**
 * Opens `url` in a fresh page and records its console errors, uncaught errors and requests;
 * any request but the page itself is refused (and recorded), so nothing leaves the machine.
 */
export async function openPage(browser: Browser, url: string): Promise<PageLoad> {
  const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  // Every request is seen here (file:// ones too); the route refuses any that is not the page.
  page.on('request', (r) => requests.push(r.url()));
  await page.route('**/*', (route) => (route.request().url() === url ? route.continue() : route.abort()));
  await page.goto(url, { waitUntil: 'load' });
  return { page, errors, requests };
}

/** Each chart of a report page: its name and the data points its SVG draws (ECharts marks each with `ecmeta_data_index`). */
export async function chartPoints(page: Page): Promise<Record<string, number>> {
  const charts = await page.$$eval('figure.chart', (figures) =>
    figures.map((f) => {
      const svg = f.querySelector(':scope > svg');
      const marks = svg ? [...svg.querySelectorAll('[ecmeta_ssr_type="chart"][ecmeta_data_index]')] : [];
      const points = new Set(marks.map((e) => `${e.getAttribute('ecmeta_series_index')}:${e.getAttribute('ecmeta_data_index')}`));
      return [f.getAttribute('data-chart') ?? '', svg ? points.size : -1] as const;
    }),
  );
  return Object.fromEntries(charts);
}
