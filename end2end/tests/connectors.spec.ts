// Connectors managed in the console, with no restart of the hub: a catalogue
// connector enabled with its app's client id and secret, found by search and
// category; a connector written in the editor, refused with its line and column while
// broken; both named by an integration, and a tenant connected through the real
// OAuth2 server on loopback.
import { test, expect, hydrated } from './fixtures';
import { BASE_URL, OAUTH_URL } from './env';
import { integrationWithRelease, quickTenant } from './flows';

test('connectors enabled and written in the console are used at once', async ({ signedIn: page, jsEnabled, browser }, info) => {
  test.setTimeout(90_000);
  const project = info.project.name;
  // Each project enables its own catalogue connector: both run against one hub.
  const [shipped, shippedName, category] = jsEnabled ? ['zoom', 'Zoom', 'Communication'] : ['dropbox', 'Dropbox', 'Storage'];
  const name = `console-auth-${project}`;
  const display = `Console Auth ${project}`;

  // The catalogue, searched and filtered in the page's address.
  await page.goto('/connectors');
  await hydrated(page, jsEnabled);
  await page.getByLabel('Search', { exact: true }).fill(shippedName.toLowerCase());
  await page.getByLabel('Category').selectOption(category);
  await page.getByRole('button', { name: 'Apply' }).click();
  await expect(page).toHaveURL(new RegExp(`q=${shippedName.toLowerCase()}&category=${category}`));
  await expect(page.getByTestId('catalogue').locator('tbody tr')).toHaveCount(1);
  const row = page.locator(`tr[data-connector="${shipped}"]`);
  await row.getByRole('link', { name: 'Enable' }).click();

  // Enabled with a client id and secret; the secret is never shown again.
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(shippedName);
  await hydrated(page, jsEnabled);
  await page.getByLabel('Client id').fill(`${shipped}-e2e-client`);
  await page.getByRole('button', { name: 'Enable Connector' }).click();
  await expect(page.getByText("Paste the app's client secret.")).toBeVisible();
  await expect(page.getByLabel('Client id')).toHaveValue(`${shipped}-e2e-client`);
  await hydrated(page, jsEnabled);
  await page.getByLabel('Client secret').fill(`${shipped}-e2e-secret`);
  await page.getByRole('button', { name: 'Enable Connector' }).click();
  await expect(page.getByText('Connector enabled.')).toBeVisible();
  await expect(page.getByText('A secret is stored (it is never shown).')).toBeVisible();
  expect(await page.content()).not.toContain(`${shipped}-e2e-secret`);

  // A connector of the company's own: refused with the line and column while broken,
  // the typed text kept.
  await page.goto('/connectors/new');
  await hydrated(page, jsEnabled);
  const definition = [
    `name: ${name}`,
    `display_name: ${display}`,
    'auth: oauth2',
    'oauth2:',
    `  authorize_url: ${OAUTH_URL}/authorize`,
    `  token_url: ${OAUTH_URL}/token`,
    '  scopes: [read]',
    '  client_auth: body',
    '',
  ].join('\n');
  const broken = definition.replace('  scopes: [read]', '  scopes: [read\n  pkce: true');
  await page.getByLabel('Definition (YAML)').fill(broken);
  await page.getByLabel('Client id').fill('e2e-client');
  await page.getByRole('button', { name: 'Save Connector' }).click();
  await expect(page.getByTestId('definition-error')).toHaveText(/^Line \d+, column \d+: /);
  await expect(page.getByLabel('Definition (YAML)')).toHaveValue(broken);
  await hydrated(page, jsEnabled);
  await page.getByLabel('Definition (YAML)').fill(definition);
  await page.getByLabel('Client id').fill('e2e-client');
  await page.getByLabel('Client secret').fill('e2e-client-secret');
  await page.getByRole('button', { name: 'Save Connector' }).click();
  await expect(page.getByText('Connector saved.')).toBeVisible();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(display);

  await page.goto('/connectors');
  for (const [connector, from] of [
    [shipped, 'from the catalogue, enabled in the console'],
    [name, 'from the console'],
    ['slack', 'from the file slack.yaml'],
  ]) {
    await expect(page.locator(`article[data-connector="${connector}"]`).getByTestId('source')).toContainText(from);
  }

  // An integration names both; a tenant connects through the provider.
  const integration = `E2E console connectors ${project}`;
  await integrationWithRelease(page, jsEnabled, integration, [display, shippedName]);
  await quickTenant(page, jsEnabled, `console-${project}`);
  const ownLink = await page.locator(`section[data-connector="${name}"]`).getByTestId('magic-link').inputValue();
  const shippedLink = await page.locator(`section[data-connector="${shipped}"]`).getByTestId('magic-link').inputValue();
  const tenantUrl = page.url().replace(/\/setup\/credentials$/, '');

  const customer = await browser.newContext({ javaScriptEnabled: jsEnabled });
  const outside = await customer.newPage();
  await outside.goto(ownLink);
  await outside.getByRole('link', { name: `Connect ${display}` }).click();
  await expect(outside.getByTestId('connect-done')).toHaveText('Connected. You can close this page.');
  // The catalogue connector's consent screen is the provider's own, on the internet:
  // the hub's redirect there is read, not followed.
  let authorize = '';
  await outside.route('**/connect/*/start', async (route) => {
    const toProvider = await route.fetch({ maxRedirects: 0 });
    authorize = toProvider.headers()['location'] ?? '';
    await route.fulfill({ status: 200, contentType: 'text/plain', body: 'the provider' });
  });
  await outside.goto(shippedLink);
  await outside.getByRole('link', { name: `Connect ${shippedName}` }).click();
  await expect(outside.getByText('the provider')).toBeVisible();
  const consent = new URL(authorize);
  expect(consent.searchParams.get('client_id')).toBe(`${shipped}-e2e-client`);
  expect(consent.searchParams.get('redirect_uri')).toBe(`${BASE_URL}/oauth/callback`);
  await customer.close();

  await page.goto(tenantUrl);
  await expect(page.locator(`div[data-connector="${name}"]`).getByTestId('connection-status')).toHaveText('✓ Connected');

  // A change to a connector a tenant uses warns with the count, and needs a tick.
  await page.goto(`/connectors/${name}`);
  await expect(page.getByTestId('in-use-warning')).toContainText(`1 tenant of 1 integration uses ${display}`);
  await hydrated(page, jsEnabled);
  await page.getByLabel('Definition (YAML)').fill(definition.replace('[read]', '[read, write]'));
  await page.getByRole('button', { name: 'Save Changes' }).click();
  await expect(page.locator('p.field-error', { hasText: 'Tick the box to save anyway.' })).toBeVisible();
  await hydrated(page, jsEnabled);
  await page.getByLabel('Definition (YAML)').fill(definition.replace('[read]', '[read, write]'));
  await page.getByLabel('Save although 1 tenant uses it').check();
  await page.getByRole('button', { name: 'Save Changes' }).click();
  await expect(page.getByText('Connector saved.')).toBeVisible();
  await expect(page.getByLabel('Definition (YAML)')).toHaveValue(/\[read, write\]/);
});
