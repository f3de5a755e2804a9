// A tenant's page: connector status, the magic link (opened with no hub account,
// through a real OAuth2 server on loopback), denied consent, disconnect and
// reconnect with the same link, the Info button, replacing the link; then Settings, Version and Sync
// Schedule changes that survive a reload, and archiving.
import { test, expect, hydrated } from './fixtures';
import { BASE_URL, OAUTH_URL } from './env';
import { buildRelease, integrationWithRelease, quickTenant } from './flows';

test('the magic link connects without a hub account, and the console follows', async ({ signedIn: page, jsEnabled, browser }, info) => {
  // A long flow of hard page loads: each fetches the page's code with a fresh cache.
  test.setTimeout(90_000);
  const integration = `E2E oauth ${info.project.name}`;
  await integrationWithRelease(page, jsEnabled, integration, ['Mock Auth', 'SFTP server']);
  await quickTenant(page, jsEnabled, `oauth-${info.project.name}`);
  const block = page.locator('section[data-connector="mockauth"]');
  const link = await block.getByTestId('magic-link').inputValue();
  expect(link).toMatch(new RegExp(`^${BASE_URL}/connect/[A-Za-z0-9_-]{43}$`));
  await hydrated(page, jsEnabled);
  await page.getByRole('button', { name: 'Next' }).click();
  await expect(page).toHaveURL(/\/setup\/configuration$/);
  const tenantUrl = page.url().replace(/\/setup\/configuration$/, '');

  // A customer opens the link in a browser that has never seen the hub.
  const customer = await browser.newContext({ javaScriptEnabled: jsEnabled });
  const outside = await customer.newPage();
  await outside.goto(link);
  await expect(outside.getByRole('heading', { level: 1 })).toHaveText(`Connect Mock Auth to ${integration}`);
  await expect(outside.locator('nav')).toHaveCount(0);
  await outside.getByRole('link', { name: 'Connect Mock Auth' }).click();
  await expect(outside.getByTestId('connect-done')).toHaveText('Connected. You can close this page.');

  await page.goto(tenantUrl);
  const status = page.locator('div[data-connector="mockauth"]');
  await expect(status.getByTestId('connection-status')).toHaveText('✓ Connected');
  await expect(status.getByTestId('magic-link')).toHaveValue(link);

  // The customer denies consent the next time: the provider sends them back with
  // `error=access_denied` (Playwright sees only the first hop of a redirect chain, so
  // the hub's own redirect to the provider is where the denial is played).
  await outside.route('**/connect/*/start', async (route) => {
    const toProvider = await route.fetch({ maxRedirects: 0 });
    const authorize = toProvider.headers()['location'];
    expect(authorize.startsWith(`${OAUTH_URL}/authorize?`)).toBe(true);
    const state = new URL(authorize).searchParams.get('state');
    await route.fulfill({ status: 302, headers: { location: `${BASE_URL}/oauth/callback?state=${state}&error=access_denied` } });
  });
  await outside.goto(link);
  await outside.getByRole('link', { name: 'Reconnect Mock Auth' }).click();
  await expect(outside.getByTestId('connect-failed')).toContainText('Consent was not given, so nothing changed.');
  await page.reload();
  await expect(status.getByTestId('connection-status')).toHaveText('✓ Connected');
  await customer.close();

  // Disconnect, after confirming; the link stays the same.
  await hydrated(page, jsEnabled);
  await status.locator('summary', { hasText: 'Disconnect' }).click();
  await status.getByRole('button', { name: 'Disconnect' }).click();
  await expect(page.getByText('Disconnected. The stored credentials were removed')).toBeVisible();
  await expect(page.locator('div[data-connector="mockauth"]').getByTestId('connection-status')).toHaveText('Not connected');
  await expect(page.locator('div[data-connector="mockauth"]').getByTestId('magic-link')).toHaveValue(link);

  // Info: shown for a connector that has it, greyed out for one that has none.
  await page.locator('div[data-connector="mockauth"]').locator('summary', { hasText: 'Info' }).click();
  await expect(page.getByText('A test provider on loopback.')).toBeVisible();
  await expect(page.locator('div[data-connector="sftp"]').getByRole('button', { name: 'Info' })).toBeDisabled();

  // The SFTP server's fields through its own magic link, with no session either.
  const sftpLink = await page.locator('div[data-connector="sftp"]').getByTestId('magic-link').inputValue();
  const other = await browser.newContext({ javaScriptEnabled: jsEnabled });
  const form = await other.newPage();
  await form.goto(sftpLink);
  await form.getByLabel('Host').fill('sftp.example.com');
  await form.getByLabel('Username').fill('acme');
  await form.getByLabel('Password').fill('hunter2-sftp');
  await form.getByRole('button', { name: 'Connect' }).click();
  await expect(form.getByTestId('connect-done')).toBeVisible();
  await other.close();
  await page.reload();
  await expect(page.locator('div[data-connector="sftp"]').getByTestId('connection-status')).toHaveText('✓ Connected');
  await expect(page.locator('body')).not.toContainText('hunter2-sftp');

  // Replace the Mock Auth link: the old one then says so, the new one works.
  await hydrated(page, jsEnabled);
  await page.locator('div[data-connector="mockauth"]').getByRole('button', { name: 'Replace link' }).click();
  await expect(page.getByText('A new magic link was made; the old one now says it was replaced.')).toBeVisible();
  // The message comes with the action's answer; the tenant's data (with the new link)
  // is read again right after it.
  const linkField = page.locator('div[data-connector="mockauth"]').getByTestId('magic-link');
  await expect(linkField).not.toHaveValue(link);
  const fresh = await linkField.inputValue();
  const holder = await browser.newContext({ javaScriptEnabled: jsEnabled });
  const stale = await holder.newPage();
  await stale.goto(link);
  await expect(stale.getByTestId('link-refused')).toHaveText(
    'This link was replaced by a newer one, so it no longer works. Ask whoever sent it for the new link.',
  );
  await expect(stale.getByRole('link', { name: /Connect Mock Auth/ })).toHaveCount(0);
  await stale.goto(fresh);
  await expect(stale.getByRole('link', { name: 'Connect Mock Auth' })).toBeVisible();
  await holder.close();
});

test('settings, version and schedule changes are kept; archiving removes the tenant', async ({ signedIn: page, jsEnabled }, info) => {
  // A long flow of hard page loads: each fetches the page's code with a fresh cache.
  test.setTimeout(90_000);
  const integration = `E2E settings ${info.project.name}`;
  const tenant = `settings-${info.project.name}`;
  await integrationWithRelease(page, jsEnabled, integration, []);
  await buildRelease(page, jsEnabled, 'v2 (main)');
  await quickTenant(page, jsEnabled, tenant);
  // No connectors: the flow goes straight to the configuration.
  await expect(page).toHaveURL(/\/setup\/configuration$/);
  await hydrated(page, jsEnabled);
  await page.getByRole('button', { name: 'Next' }).click();
  await expect(page).toHaveURL(/\/setup\/schedule/);
  await hydrated(page, jsEnabled);
  await page.getByRole('button', { name: 'Save Changes' }).click();
  await expect(page.getByTestId('tenant-release')).toHaveText('Latest channel (now v2 (main))');
  await expect(page.getByTestId('no-runs')).toBeVisible();

  // Settings: pin v1 and change a value; a bad value first is refused and kept.
  await page.locator('.page-actions').getByRole('link', { name: 'Settings' }).click();
  await hydrated(page, jsEnabled);
  await page.getByRole('radio', { name: 'Specific Release' }).check();
  await page.getByRole('combobox', { name: 'Release' }).selectOption({ label: 'v1 (main) (default)' });
  await page.getByLabel('Post to channel').fill('support');
  await page.getByLabel('Batch size').fill('0');
  await page.getByRole('button', { name: 'Save Changes' }).click();
  await expect(page.locator('[data-field="batch_size"] .field-error')).toHaveText('At least 1.');
  await expect(page.getByLabel('Post to channel')).toHaveValue('support');
  await hydrated(page, jsEnabled);
  await page.getByLabel('Batch size').fill('10');
  await page.getByRole('button', { name: 'Save Changes' }).click();
  await expect(page.getByText('Settings saved.')).toBeVisible();
  await expect(page.getByTestId('tenant-release')).toHaveText('Pinned: v1 (main)');
  await page.locator('.page-actions').getByRole('link', { name: 'Settings' }).click();
  await page.reload();
  await expect(page.getByRole('radio', { name: 'Specific Release' })).toBeChecked();
  await expect(page.getByLabel('Post to channel')).toHaveValue('support');
  await expect(page.getByLabel('Batch size')).toHaveValue('10');

  // Sync Schedule: every 15 minutes, running.
  await page.goto(page.url().replace(/\/settings$/, '/schedule'));
  await hydrated(page, jsEnabled);
  await page.getByLabel('How often').selectOption({ label: 'Every 15 minutes' });
  await page.getByRole('radio', { name: /^Running/ }).check();
  await page.getByRole('button', { name: 'Save Changes' }).click();
  await expect(page.getByTestId('tenant-schedule')).toHaveText('Every 15 minutes');
  await page.reload();
  await expect(page.getByTestId('tenant-state')).toHaveText('Running');
  await expect(page.getByTestId('tenant-schedule')).toHaveText('Every 15 minutes');

  // Archive, after confirming: it leaves the list.
  await hydrated(page, jsEnabled);
  await page.locator('summary', { hasText: 'Archive' }).click();
  await page.getByRole('button', { name: 'Archive tenant' }).click();
  await expect(page).toHaveURL(/\/tenants(\?done=archived)?$/);
  await page.goto(`/tenants?q=${tenant}`);
  await expect(page.locator(`tr[data-tenant="${tenant}"]`)).toHaveCount(0);
});

test('a connector whose address depends on the customer asks for it before the consent screen', async ({ signedIn: page, jsEnabled, browser }, info) => {
  test.setTimeout(90_000);
  const integration = `E2E hosted ${info.project.name}`;
  await integrationWithRelease(page, jsEnabled, integration, ['Hosted Auth']);
  await quickTenant(page, jsEnabled, `hosted-${info.project.name}`);
  const link = await page.locator('section[data-connector="hostauth"]').getByTestId('magic-link').inputValue();
  const tenantUrl = page.url().replace(/\/setup\/credentials$/, '');

  const customer = await browser.newContext({ javaScriptEnabled: jsEnabled });
  const outside = await customer.newPage();
  await outside.goto(link);
  await expect(outside.getByRole('heading', { level: 1 })).toHaveText(`Connect Hosted Auth to ${integration}`);
  // A value that would leave its place in the provider's address is refused, and
  // comes back to be corrected.
  await outside.getByLabel('Server').fill('evil.example/x');
  await outside.getByRole('button', { name: 'Connect Hosted Auth' }).click();
  await expect(outside.getByTestId('connect-failed')).toHaveText("Server: only letters, digits, '.', '-' and '_'");
  await expect(outside.getByLabel('Server')).toHaveValue('evil.example/x');
  await outside.getByLabel('Server').fill('example.org');
  await outside.getByRole('button', { name: 'Connect Hosted Auth' }).click();
  await expect(outside.getByTestId('connect-failed')).toHaveText('Server: not a valid value, like localhost');
  // The customer's server: its consent screen, then connected.
  await outside.getByLabel('Server').fill('127.0.0.1');
  await outside.getByRole('button', { name: 'Connect Hosted Auth' }).click();
  await expect(outside.getByTestId('connect-done')).toHaveText('Connected. You can close this page.');
  await customer.close();

  await page.goto(tenantUrl);
  await expect(page.locator('div[data-connector="hostauth"]').getByTestId('connection-status')).toHaveText('✓ Connected');
});
