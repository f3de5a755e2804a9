// Every page is a lazily loaded route. Each one, loaded by its address (a hard load,
// as a bookmark or a reload does), is whole from the server; with JavaScript on it
// hydrates after fetching its own code, without a console error; without JavaScript it
// is the same page.
import { test, expect, hydrated } from './fixtures';
import { quickTenant } from './flows';

test('every page loads whole from its address, and hydrates with its own code', async ({ signedIn: page, jsEnabled }, info) => {
  test.setTimeout(120_000);
  // An integration, its release, a tenant and a run to address.
  await page.goto('/integrations');
  await page.getByRole('link', { name: 'Counter Sync', exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Counter Sync' })).toBeVisible();
  const integration = new URL(page.url()).pathname;
  const release = await page.locator('tr[data-release] a[href^="/releases/"]').first().getAttribute('href');
  expect(release, 'a sample release is listed').toBeTruthy();
  await quickTenant(page, jsEnabled, `pages-${info.project.name}`);
  const tenant = /\/tenants\/(\d+)\//.exec(page.url())?.[1];
  expect(tenant, 'the tenant id is in the URL').toBeTruthy();
  await page.goto(`/tenants/${tenant}`);
  await hydrated(page, jsEnabled);
  await page.getByRole('button', { name: 'Run Init Sync' }).click();
  const runLink = page.getByTestId('runs').locator('tbody tr').first().getByRole('link');
  await expect(runLink).toBeVisible();
  const run = await runLink.getAttribute('href');

  const pages: Array<[string, RegExp]> = [
    ['/integrations', /Integrations/],
    ['/integrations/new', /New Integration/],
    [integration, /Counter Sync/],
    [`${integration}/edit`, /Edit Integration/],
    [release ?? '', /v\d|main|Release/],
    ['/connectors', /Connectors/],
    ['/tenants', /Tenants/],
    [`/tenants/new?integration=${integration.split('/').pop()}`, /Create Tenant/],
    [`/tenants/${tenant}`, /pages-/],
    [`/tenants/${tenant}/settings`, /Settings/],
    [`/tenants/${tenant}/schedule`, /Sync Schedule/],
    [`/tenants/${tenant}/setup/configuration`, /Configuration/],
    [run ?? '', /Run #/],
    ['/activity', /Activity/],
    ['/activity/audit', /Audit log/],
    ['/settings/company', /Company/],
    ['/settings/users', /Users/],
    ['/settings/users/new', /Add New User/],
    ['/settings/partners', /Partners/],
    ['/settings/mail', /Sent mail/],
    ['/account', /Your account/],
    ['/settings/marketplace', /Marketplace/],
    ['/settings/api', /API Access/],
    ['/settings/notifications', /Notifications/],
  ];
  const splitModules: string[] = [];
  page.on('response', (r) => {
    if (/\/pkg\/split_/.test(r.url())) splitModules.push(r.url());
  });
  for (const [path, heading] of pages) {
    splitModules.length = 0;
    await page.goto(path);
    await expect(page.getByRole('heading', { level: 1 }).first(), path).toContainText(heading);
    await hydrated(page, jsEnabled);
    // With JavaScript on, the page's own module was fetched before it hydrated.
    if (jsEnabled) expect(splitModules.length, `${path} loads its own module`).toBeGreaterThan(0);
  }
});

test('the pages outside the console load whole from their address too', async ({ page, jsEnabled }) => {
  for (const [path, text] of [
    ['/login', 'Sign in'],
    ['/invite/not-a-token', 'invitation'],
    ['/connect/not-a-token', 'link'],
    ['/embed', 'could not be opened'],
  ]) {
    await page.goto(path);
    await expect(page.locator('main, body').first(), path).toContainText(new RegExp(text, 'i'));
    await hydrated(page, jsEnabled);
  }
});

// A first visit to the tenants list, with an empty cache: what goes over the wire
// (compressed bodies and headers) for the page, its code and its stylesheet. Printed
// for the notes; the bound catches a lost compression or a route that grew a lot.
// (Without JavaScript the browser still fetches the code the page's preload links
// name.)
test('a first visit to the tenants list transfers its page and code compressed', async ({ signedIn, browser, baseURL, jsEnabled }) => {
  // A new browser context: the session, and an empty cache.
  const context = await browser.newContext({
    baseURL,
    javaScriptEnabled: jsEnabled,
    storageState: await signedIn.context().storageState(),
  });
  const page = await context.newPage();
  const sizes: Array<[string, number]> = [];
  page.on('requestfinished', async (request) => {
    const s = await request.sizes();
    sizes.push([new URL(request.url()).pathname, s.responseBodySize + s.responseHeadersSize]);
  });
  await page.goto('/tenants');
  await hydrated(page, jsEnabled);
  await page.waitForLoadState('networkidle');
  const total = sizes.reduce((sum, [, n]) => sum + n, 0);
  const kb = (test: (p: string) => boolean) =>
    (sizes.filter(([p]) => test(p)).reduce((sum, [, n]) => sum + n, 0) / 1000).toFixed(1);
  const line =
    `first visit to /tenants (JavaScript ${jsEnabled ? 'on' : 'off'}): ${sizes.length} requests, ` +
    `${(total / 1000).toFixed(1)} KB transferred (page ${kb((p) => p === '/tenants')} KB, ` +
    `wasm ${kb((p) => p.endsWith('.wasm'))} KB, JS ${kb((p) => p.endsWith('.js'))} KB, CSS ${kb((p) => p.endsWith('.css'))} KB)`;
  console.log(line);
  expect(total, line).toBeLessThan(700_000);
  await context.close();
});
