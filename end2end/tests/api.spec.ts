// Machines' access from the console: API keys (shown once, used, revoked), the
// outgoing webhook (a receiver on loopback gets signed events), and a tenant's inbound
// webhook URL.
import * as crypto from 'node:crypto';
import * as http from 'node:http';
import { test, expect, hydrated } from './fixtures';
import { integrationWithRelease, quickTenant } from './flows';
import { withLock } from './lock';

test('an admin makes an API key, sees it once, calls the API with it and revokes it', async ({ signedIn: page, jsEnabled }, info) => {
  const name = `ci-${info.project.name}`;
  await page.goto('/settings/api');
  await hydrated(page, jsEnabled);
  await expect(page.getByTestId('api-operations')).toContainText('/api/v2/tenants/{id}/sync');

  // An empty name is refused next to the field.
  await page.getByLabel("New key's name").fill(' ');
  await page.getByRole('button', { name: 'Create Key' }).click();
  await expect(page.getByText('Give the key a name')).toBeVisible();

  await page.getByLabel("New key's name").fill(name);
  await page.getByRole('button', { name: 'Create Key' }).click();
  const secret = page.getByTestId('revealed-secret');
  await expect(secret).toBeVisible();
  const key = await secret.inputValue();
  expect(key).toMatch(/^hub_[A-Za-z0-9_-]{43}$/);

  const api = (k: string) => page.request.get('/api/v2/integrations', { headers: { 'X-API-Key': k } });
  const ok = await api(key);
  expect(ok.status()).toBe(200);
  expect((await ok.json()).items.length).toBeGreaterThan(0);
  expect((await api('hub_wrong')).status()).toBe(401);

  // Shown once: not on the next visit, and never in the list.
  await page.goto('/settings/api');
  await hydrated(page, jsEnabled);
  await expect(page.getByTestId('revealed')).toHaveCount(0);
  const row = page.locator(`tr[data-key="${name}"]`);
  await expect(row).toContainText('Active');
  await expect(row).not.toContainText('Never'); // it was used
  expect(await page.content()).not.toContain(key);

  await row.getByText('Revoke', { exact: true }).click();
  await row.getByRole('button', { name: 'Revoke key' }).click();
  await expect(page.locator(`tr[data-key="${name}"]`)).toContainText('Revoked');
  expect((await api(key)).status()).toBe(401);

  // A read-only key that expires: it reads, and a change is refused with the reason.
  await hydrated(page, jsEnabled);
  const reader = `${name}-reader`;
  await page.getByLabel("New key's name").fill(reader);
  await page.getByLabel('Scope').selectOption('read');
  await page.getByLabel('Expires after (days)').fill('0');
  await page.getByRole('button', { name: 'Create Key' }).click();
  await expect(page.getByText('Enter a whole number of days from 1 to 3650, or leave it empty.')).toBeVisible();
  await expect(page.getByLabel("New key's name")).toHaveValue(reader);
  await hydrated(page, jsEnabled);
  await page.getByLabel('Scope').selectOption('read');
  await page.getByLabel('Expires after (days)').fill('30');
  await page.getByRole('button', { name: 'Create Key' }).click();
  const readKey = await page.getByTestId('revealed-secret').inputValue();
  expect((await api(readKey)).status()).toBe(200);
  const change = await page.request.post('/api/v2/integrations/1/releases', { headers: { 'X-API-Key': readKey } });
  expect(change.status()).toBe(403);
  expect((await change.json()).message).toContain('may only read');
  await page.goto('/settings/api');
  await expect(page.locator(`tr[data-key="${reader}"]`).getByTestId('key-scope')).toContainText('Read only');
  await expect(page.locator(`tr[data-key="${reader}"]`).getByTestId('key-scope')).toContainText('Until');
});

type Received = { headers: http.IncomingHttpHeaders; body: string };

/** A webhook receiver on loopback that records what it gets. */
async function receiver(): Promise<{ url: string; got: Received[]; close: () => void }> {
  const got: Received[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      got.push({ headers: req.headers, body });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}/hook`, got, close: () => server.close() };
}

test('events reach the notification URL signed, and the deliveries are listed', async ({ signedIn: page, jsEnabled }, info) => {
  test.setTimeout(90_000);
  const recv = await receiver();
  try {
    await withLock('notifications', async () => {
      await page.goto('/settings/notifications');
      await hydrated(page, jsEnabled);
      // A bad address is refused next to the field, and what was typed stays.
      await page.getByLabel('Receiver URL').fill('ftp://example');
      await page.getByRole('button', { name: 'Save' }).click();
      await expect(page.getByText('Enter an http:// or https:// address.')).toBeVisible();
      await expect(page.getByLabel('Receiver URL')).toHaveValue('ftp://example');
      // The cloud's metadata service is inside the hub's network: refused the same way
      // (the hub under test lists only loopback as allowed).
      const metadata = 'http://169.254.169.254/latest/meta-data/';
      await page.getByLabel('Receiver URL').fill(metadata);
      await page.getByRole('button', { name: 'Save' }).click();
      await expect(page.getByText(/169\.254\.169\.254, a link-local address/)).toBeVisible();
      await expect(page.getByLabel('Receiver URL')).toHaveValue(metadata);

      await page.getByLabel('Receiver URL').fill(recv.url);
      await page.getByRole('checkbox', { name: /integration_created/ }).check();
      await page.getByRole('button', { name: 'Save' }).click();
      await hydrated(page, jsEnabled);
      await expect(page.getByLabel('Receiver URL')).toHaveValue(recv.url);

      // A new signing secret, shown once. On a new hub the first save already showed
      // one: wait for the new value, not the one on the page before.
      const shown = page.getByTestId('revealed-secret');
      const before = (await shown.count()) > 0 ? await shown.inputValue() : '';
      await page.getByText('New signing secret', { exact: true }).click();
      await page.getByRole('button', { name: 'Make new secret' }).click();
      await expect(shown).toBeVisible();
      if (before) await expect(shown).not.toHaveValue(before);
      const secret = await shown.inputValue();
      expect(secret).toMatch(/^whsec_/);

      const name = `Notified ${info.project.name}`;
      await page.goto('/integrations/new');
      await hydrated(page, jsEnabled);
      await page.getByLabel('Name').fill(name);
      await page.getByLabel('Repository').fill('/srv/git/notified');
      await page.getByRole('button', { name: 'Create Integration' }).click();
      await expect(page.getByRole('heading', { level: 1, name })).toBeVisible();

      // The receiver gets the event, signed with the secret.
      await expect
        .poll(() => recv.got.find((r) => JSON.parse(r.body).data?.integration?.name === name), { timeout: 20_000 })
        .toBeTruthy();
      const event = recv.got.find((r) => JSON.parse(r.body).data?.integration?.name === name)!;
      const expected = 'sha256=' + crypto.createHmac('sha256', secret).update(event.body).digest('hex');
      expect(event.headers['x-hub-signature-256']).toBe(expected);
      expect(event.headers['x-hub-event']).toBe('integration_created');
      expect(JSON.parse(event.body).type).toBe('integration_created');

      // The other project's integrations may raise events of their own meanwhile, so
      // the newest row need not be this one: some integration_created row is
      // Delivered once the hub has recorded the receiver's answer.
      const delivered = page
        .getByTestId('deliveries')
        .locator('tr[data-event="integration_created"]', { hasText: 'Delivered' });
      await expect
        .poll(
          async () => {
            await page.goto('/settings/notifications');
            await hydrated(page, jsEnabled);
            return delivered.count();
          },
          { timeout: 15_000, intervals: [500, 1_000] },
        )
        .toBeGreaterThan(0);
      await hydrated(page, jsEnabled);
      await expect(page.getByTestId('revealed')).toHaveCount(0);
      expect(await page.content()).not.toContain(secret);
    });
  } finally {
    recv.close();
  }
});

test("a tenant's inbound webhook URL queues a webhook run", async ({ signedIn: page, jsEnabled }, info) => {
  test.setTimeout(90_000);
  const suffix = info.project.name;
  await integrationWithRelease(page, jsEnabled, `Hooked ${suffix}`, []);
  await quickTenant(page, jsEnabled, `hooked-${suffix}`);
  const id = /\/tenants\/(\d+)\//.exec(page.url())?.[1];
  await page.goto(`/tenants/${id}`);
  await hydrated(page, jsEnabled);
  await expect(page.getByTestId('webhook-url')).toHaveCount(0);
  await page.getByRole('button', { name: 'Make webhook URL' }).click();
  const field = page.getByTestId('webhook-url');
  await expect(field).toBeVisible();
  const url = await field.inputValue();
  expect(url).toMatch(/\/hooks\/[A-Za-z0-9_-]{43}$/);

  const res = await page.request.post(new URL(url).pathname, { data: { order: 17 } });
  expect(res.status()).toBe(202);
  expect((await res.json()).trigger_id).toBeGreaterThan(0);
  const wrong = await page.request.post('/hooks/not-a-token', { data: {} });
  expect(wrong.status()).toBe(404);

  await page.goto(`/tenants/${id}`);
  const row = page.getByTestId('runs').locator('tbody tr').first();
  await expect(row).toContainText('webhook');
});
