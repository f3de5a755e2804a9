// The embedded marketplace as a company's product shows it: a page on another
// loopback origin puts the hub in an iframe, with a token the test signs itself with
// a JWT library (jose), as the company's backend would. An end user installs,
// connects through the OAuth2 provider, configures, syncs and uninstalls; a second
// user sees none of it; every bad token is refused inside the frame; and a page of an
// origin not on the list is refused by the browser.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { SignJWT, base64url } from 'jose';
import type { Browser, FrameLocator, Page } from '@playwright/test';
import { test, expect, hydrated } from './fixtures';
import { BASE_URL } from './env';
import { createIntegration, integrationWithRelease } from './flows';
import { makeRepository, makeSampleRepository } from './repos';
import { withLock } from './lock';

/** A web server on loopback standing in for the company's product: `/?src=` embeds it. */
async function hostApp(): Promise<{ origin: string; close: () => void }> {
  const server = http.createServer((req, res) => {
    const src = new URL(req.url ?? '/', 'http://x').searchParams.get('src') ?? '';
    const escaped = src.replace(/&/g, '&amp;').replace(/"/g, '&quot;');
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><html><head><title>Host app</title></head><body>
      <h1>Host app</h1>
      <iframe id="market" title="Marketplace" src="${escaped}" style="width: 100%; height: 2400px; border: 0"></iframe>
    </body></html>`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return { origin: `http://127.0.0.1:${port}`, close: () => server.close() };
}

type Claims = { sub?: string; name?: string; email?: string; xti?: object; exp?: number; nbf?: number };

/** A token signed as the company's backend signs it (HS256 unless told otherwise). */
async function sign(secret: string, claims: Claims, alg = 'HS256'): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const { exp = now + 3600, ...rest } = claims;
  return new SignJWT({ ...rest, exp }).setProtectedHeader({ alg }).setIssuedAt().sign(new TextEncoder().encode(secret));
}

/** Sets the marketplace's name and allowed origin, and makes a new secret (returned). */
async function setUpMarketplace(page: Page, jsEnabled: boolean, name: string, origin: string): Promise<string> {
  await page.goto('/settings/marketplace');
  await hydrated(page, jsEnabled);
  await page.getByLabel('Marketplace name').fill(name);
  // A bad origin is refused next to the field, and what was typed stays.
  await page.getByLabel('Allowed parent origins').fill('app.example.com/path');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(page.getByText('is not an origin')).toBeVisible();
  await expect(page.getByLabel('Allowed parent origins')).toHaveValue('app.example.com/path');
  await hydrated(page, jsEnabled);
  await page.getByLabel('Allowed parent origins').fill(origin);
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(page.getByText('Marketplace settings saved.')).toBeVisible();
  await hydrated(page, jsEnabled);
  await page.getByLabel('Keep accepting the old secret for (hours)').fill('0');
  await page.getByRole('button', { name: /^Make (new )?secret$/ }).click();
  const shown = page.getByTestId('revealed-secret');
  await expect(shown).toBeVisible();
  const secret = await shown.inputValue();
  expect(secret).toMatch(/^mpsec_/);
  await expect(page.getByTestId('embed-snippet')).toContainText(`${BASE_URL}/embed?token=`);
  // The admin can try it as an end user, with a token the hub signs for them.
  const preview = await page.getByTestId('marketplace-preview').getAttribute('href');
  expect(preview).toMatch(/^\/embed\?token=/);
  await page.goto(preview ?? '');
  await expect(page.getByTestId('embed-user')).toBeVisible();
  return secret;
}

/** Publishes the integration whose page is open, in `category`. */
async function publish(page: Page, jsEnabled: boolean, category: string): Promise<number> {
  const id = Number(/\/integrations\/(\d+)/.exec(page.url())?.[1]);
  expect(id).toBeGreaterThan(0);
  await hydrated(page, jsEnabled);
  await page.getByLabel('Published: shown in the marketplace').check();
  await page.getByRole('button', { name: 'Save listing' }).click();
  // A published integration needs its tile's text.
  await expect(page.getByText('A published integration needs a short description')).toBeVisible();
  await hydrated(page, jsEnabled);
  await page.getByLabel('Published: shown in the marketplace').check();
  await page.getByLabel('Short description').fill('Your Pokémon of the day, every day.');
  await page.getByLabel('Categories').fill(category);
  await page.getByLabel('Tags').fill('fun, daily');
  await page.getByLabel('Flag', { exact: true }).fill('New');
  await page.getByRole('button', { name: 'Save listing' }).click();
  await expect(page.getByText('Listing saved.')).toBeVisible();
  return id;
}

/** A repository of the Pokémon sample that connects through the mock OAuth2 provider. */
function marketRepository(): string {
  const dir = makeSampleRepository('pokemon-of-the-day');
  const manifest = path.join(dir, 'PANDIUM.yaml');
  fs.writeFileSync(manifest, fs.readFileSync(manifest, 'utf8').replace(/^run: /m, 'connectors: [mockauth]\nrun: '));
  execFileSync('git', ['-c', 'user.name=E2E', '-c', 'user.email=e2e@example.com', 'commit', '--quiet', '-am', 'oauth'], { cwd: dir });
  return dir;
}

/** Opens the host page embedding `path?token=` of the hub, in a browser with no hub session. */
async function embed(browser: Browser, jsEnabled: boolean, origin: string, src: string): Promise<{ host: Page; frame: FrameLocator; close: () => Promise<void> }> {
  const context = await browser.newContext({ javaScriptEnabled: jsEnabled });
  const host = await context.newPage();
  await host.goto(`${origin}/?src=${encodeURIComponent(src)}`);
  await expect(host.getByRole('heading', { name: 'Host app' })).toBeVisible();
  return { host, frame: host.frameLocator('#market'), close: () => context.close() };
}

async function frameHydrated(frame: FrameLocator, jsEnabled: boolean): Promise<void> {
  if (jsEnabled) await expect(frame.locator('body[data-hydrated="true"]')).toHaveCount(1);
}

test('an end user installs, connects, configures, syncs and uninstalls inside the frame', async ({ signedIn: page, jsEnabled, browser }, info) => {
  test.setTimeout(480_000);
  const suffix = info.project.name;
  const integration = `Pokedex ${suffix}`;
  await integrationWithRelease(page, jsEnabled, integration, ['Mock Auth'], marketRepository());
  const pokedex = page.url();
  // A second one, with no release yet: listed, not installable.
  await createIntegration(page, jsEnabled, `Pokedex beta ${suffix}`, [], makeRepository());
  const beta = page.url();
  const app = await hostApp();
  try {
    // Publishing changes what every user is offered: it happens under the lock too.
    await withLock('marketplace', async () => {
      await page.goto(beta);
      await publish(page, jsEnabled, `Games ${suffix}`);
      await page.goto(pokedex);
      await publish(page, jsEnabled, `Games ${suffix}`);
      const secret = await setUpMarketplace(page, jsEnabled, `Apps ${suffix}`, app.origin);
      const sub = `user-${suffix}-${Date.now()}`;
      const token = await sign(secret, { sub, name: 'Ann Example', email: 'ann@example.com' });
      const { host, frame, close } = await embed(browser, jsEnabled, app.origin, `${BASE_URL}/embed?token=${token}`);

      // The full marketplace: nothing installed; the tiles filter by category.
      await expect(frame.getByTestId('embed-user')).toHaveText('Ann Example');
      await expect(frame.locator('.embed-title')).toHaveText(`Apps ${suffix}`);
      await expect(frame.getByTestId('no-apps')).toBeVisible();
      await frameHydrated(frame, jsEnabled);
      await frame.getByLabel('Category').selectOption(`Games ${suffix}`);
      await frame.getByRole('button', { name: 'Filter' }).click();
      const tiles = frame.getByTestId('tiles').locator('li');
      await expect(tiles).toHaveCount(2);
      await frame.getByRole('link', { name: `Pokedex beta ${suffix}` }).click();
      await expect(frame.getByTestId('install-blocked')).toContainText('Not available yet');
      await frame.getByRole('link', { name: 'All integrations' }).click();
      await frameHydrated(frame, jsEnabled);
      await frame.getByLabel('Category').selectOption(`Games ${suffix}`);
      await frame.getByRole('button', { name: 'Filter' }).click();
      const tile = frame.locator(`li[data-integration="${integration}"]`);
      await expect(tile).toContainText('New');
      await tile.getByRole('link', { name: integration }).click();

      // Install: a tenant on the default release, named after the integration and the user.
      await expect(frame.getByRole('heading', { level: 1 })).toContainText(integration);
      await frameHydrated(frame, jsEnabled);
      await frame.getByRole('button', { name: 'Install' }).click();
      await expect(frame.getByTestId('app-title')).toHaveText(integration);
      const status = frame.locator('[data-connector="mockauth"]').getByTestId('connection-status');
      await expect(status).toHaveText('Not connected');
      await expect(frame.getByRole('button', { name: 'Continue' })).toBeDisabled();

      // Connect: the provider's sign-in opens in its own window (providers refuse frames).
      const [popup] = await Promise.all([
        host.waitForEvent('popup'),
        frame.getByRole('link', { name: 'Connect Mock Auth' }).click(),
      ]);
      await expect(popup.getByTestId('connect-done')).toHaveText('Connected. You can close this page.');
      await popup.close();
      await frame.getByTestId('check-again').click();
      await expect(status).toHaveText('✓ Connected');

      // Continue: the install's init sync fetches the choices of the settings form.
      await frameHydrated(frame, jsEnabled);
      await frame.getByRole('button', { name: 'Continue' }).click();
      await expect(frame.getByTestId('waiting-for-choices')).toHaveCount(0, { timeout: 45_000 });
      const type = frame.getByLabel('Type');
      await expect(type.locator('option', { hasText: 'Fire' })).toHaveCount(1);
      // The admin-only field is not offered to the end user.
      await expect(frame.getByLabel('Announce the pick')).toHaveCount(0);
      await frameHydrated(frame, jsEnabled);
      await type.selectOption('fire');
      await frame.getByRole('button', { name: 'Save settings' }).click();
      await expect(frame.getByTestId('embed-notice')).toHaveText('Settings saved.');

      // The schedule, within the presets; then a sync and its log.
      await frameHydrated(frame, jsEnabled);
      await frame.getByLabel('How often').selectOption('hourly');
      await frame.getByRole('button', { name: 'Finish' }).click();
      await expect(frame.getByTestId('embed-notice')).toHaveText('Schedule saved.');
      await expect(frame.getByTestId('app-schedule')).toContainText('Every hour');
      await frameHydrated(frame, jsEnabled);
      await frame.getByRole('button', { name: 'Sync now' }).click();
      const normal = frame.getByTestId('runs').locator('li[data-phase="succeeded"]', { hasText: 'normal' });
      await expect(normal).toHaveCount(1, { timeout: 45_000 });
      await normal.locator('summary').click();
      await expect(normal.getByTestId('run-log')).toContainText("Today's fire Pokémon is");

      // The console shows where the tenant came from and whose it is.
      const tenantId = /\/embed\/apps\/(\d+)/.exec(host.frames().map((f) => f.url()).join(' '))?.[1];
      expect(tenantId).toBeTruthy();
      await page.goto(`/tenants/${tenantId}`);
      await expect(page.getByTestId('tenant-source')).toHaveText('Marketplace');
      await expect(page.getByTestId('tenant-end-user')).toHaveText(`${sub} · Ann Example · ann@example.com`);

      // Uninstall, after confirming: back to the marketplace, nothing installed.
      await frameHydrated(frame, jsEnabled);
      await frame.locator('summary', { hasText: 'Uninstall' }).click();
      await frame.getByRole('button', { name: 'Yes, uninstall' }).click();
      await expect(frame.getByTestId('embed-notice')).toHaveText('Uninstalled. It no longer syncs.');
      await expect(frame.getByTestId('no-apps')).toBeVisible();
      await page.goto(`/tenants/${tenantId}`);
      await expect(page.getByText('Not found.')).toBeVisible();
      await close();
    }, 360_000);
  } finally {
    app.close();
  }
});

test('users are kept apart, bad tokens are refused in the frame, and other origins cannot frame it', async ({ signedIn: page, jsEnabled, browser }, info) => {
  test.setTimeout(480_000);
  const suffix = info.project.name;
  const integration = `Counter ${suffix}`;
  await integrationWithRelease(page, jsEnabled, integration, [], makeRepository());
  const counter = page.url();
  const app = await hostApp();
  const stranger = await hostApp();
  try {
    await withLock('marketplace', async () => {
      await page.goto(counter);
      const id = await publish(page, jsEnabled, `Tools ${suffix}`);
      const secret = await setUpMarketplace(page, jsEnabled, `Apps ${suffix}`, app.origin);
      const ann = await sign(secret, { sub: `ann-${suffix}-${Date.now()}`, name: 'Ann' });
      const bob = await sign(secret, { sub: `bob-${suffix}-${Date.now()}`, name: 'Bob' });

      // With one integration on offer and nothing installed, the full marketplace opens
      // its install page at once (every other published one hidden by xti).
      await page.goto('/settings/marketplace');
      const others = (await page.getByTestId('published').locator('li').evaluateAll((lis) => lis.map((li) => Number(li.getAttribute('data-id')))))
        .filter((other) => other !== id);
      const solo = await sign(secret, { sub: `solo-${suffix}-${Date.now()}`, name: 'Solo', xti: { hidden_integrations: others } });
      const one = await embed(browser, jsEnabled, app.origin, `${BASE_URL}/embed?token=${solo}`);
      await expect(one.frame.getByRole('heading', { level: 1 })).toContainText(integration);
      await expect(one.frame.getByRole('button', { name: 'Install' })).toBeVisible();
      await one.close();

      // Ann installs through the install-only form: no way back to the full marketplace.
      const a = await embed(browser, jsEnabled, app.origin, `${BASE_URL}/embed/install/${id}?token=${ann}`);
      await expect(a.frame.getByRole('heading', { level: 1 })).toContainText(integration);
      await expect(a.frame.getByRole('link', { name: 'All integrations' })).toHaveCount(0);
      await frameHydrated(a.frame, jsEnabled);
      await a.frame.getByRole('button', { name: 'Install' }).click();
      await expect(a.frame.getByTestId('app-title')).toHaveText(integration);
      const annTenant = /\/embed\/apps\/(\d+)/.exec(a.host.frames().map((f) => f.url()).join(' '))?.[1];
      expect(annTenant).toBeTruthy();
      // Nothing to connect: the install's init sync starts at once.
      await expect(a.frame.getByTestId('runs').locator('li', { hasText: 'init' })).toHaveCount(1, { timeout: 30_000 });
      await a.close();

      // Bob sees nothing of Ann's, through the pages or by calling the endpoints.
      const b = await embed(browser, jsEnabled, app.origin, `${BASE_URL}/embed?token=${bob}`);
      await expect(b.frame.getByTestId('embed-user')).toHaveText('Bob');
      // (With nothing else on offer the marketplace opens Counter's page; either way
      // Bob has no apps listed.)
      await expect(b.frame.getByTestId('my-apps')).toHaveCount(0);
      await b.host.goto(`${app.origin}/?src=${encodeURIComponent(`${BASE_URL}/embed/apps/${annTenant}?token=${bob}`)}`);
      await expect(b.frame.getByTestId('embed-refused')).toContainText('not available to you');
      await b.close();
      for (const endpoint of ['embed_app', 'embed_run', 'embed_uninstall']) {
        const res = await page.request.post(`/api/${endpoint}`, { form: { token: bob, tenant_id: String(annTenant) } });
        expect(res.status(), endpoint).toBe(404);
      }
      const res = await page.request.post('/api/embed_app', { form: { token: ann, tenant_id: String(annTenant) } });
      expect(res.status()).toBe(200);

      // Every bad token is refused with its reason, inside the frame.
      const now = Math.floor(Date.now() / 1000);
      const unsigned = `${base64url.encode('{"alg":"none","typ":"JWT"}')}.${base64url.encode(JSON.stringify({ sub: 'x', exp: now + 600 }))}.`;
      const bad: [string, string][] = [
        [unsigned, 'alg: none'],
        [await sign(secret, { sub: 'x' }, 'HS512'), 'only HS256'],
        [await sign('mpsec_somebody-else', { sub: 'x' }), 'signature does not match'],
        [await sign(secret, { sub: 'x', exp: now - 3600 }), 'expired'],
        [await sign(secret, { sub: 'x', nbf: now + 3600 }), 'not valid yet'],
        [await sign(secret, { name: 'No sub' }), 'no sub claim'],
        [await sign(secret, { sub: 'x', exp: now + 3 * 86_400 }), 'more than 24 hours ahead'],
      ];
      const c = await embed(browser, jsEnabled, app.origin, `${BASE_URL}/embed?token=`);
      await expect(c.frame.getByTestId('embed-refused')).toContainText('needs a token');
      for (const [token, reason] of bad) {
        await c.host.goto(`${app.origin}/?src=${encodeURIComponent(`${BASE_URL}/embed/install/${id}?token=${token}`)}`);
        await expect(c.frame.getByTestId('embed-refused')).toContainText(reason);
        const res = await page.request.post('/api/embed_install', { form: { token, integration_id: String(id) } });
        expect(res.status(), reason).toBe(401);
      }
      await c.close();

      // A page of an origin not on the list: the browser refuses to show the frame.
      const policy = await page.request.get(`/embed?token=${ann}`);
      expect(policy.headers()['content-security-policy']).toContain(`script-src 'self' 'nonce-`);
      expect(policy.headers()['content-security-policy'].endsWith(`; frame-ancestors ${app.origin}`)).toBe(true);
      const s = await embed(browser, jsEnabled, stranger.origin, `${BASE_URL}/embed?token=${ann}`);
      // The host page's load event waits for its frame, shown or refused.
      await s.host.waitForLoadState('load');
      await expect(s.frame.getByTestId('embed-user')).toHaveCount(0);
      expect(s.host.frames().some((f) => f.url().startsWith(`${BASE_URL}/embed`) && f !== s.host.mainFrame())).toBe(false);
      await s.close();
      // The same page at the allowed origin shows it.
      const ok = await embed(browser, jsEnabled, app.origin, `${BASE_URL}/embed?token=${ann}`);
      await expect(ok.frame.getByTestId('embed-user')).toHaveText('Ann');
      await ok.close();
    }, 360_000);
  } finally {
    app.close();
    stranger.close();
  }
});
