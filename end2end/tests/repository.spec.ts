// Private repositories: a deploy key over SSH (its host key pinned on the first
// fetch), an access token over HTTPS's smart protocol, and builds on a signed push.
// The git servers are real (sshd and git http-backend) on loopback.
import { createHmac } from 'node:crypto';
import * as path from 'node:path';
import type { Page } from '@playwright/test';
import { test, expect, hydrated } from './fixtures';
import { startGitHttp, startSshd } from './gitservers';
import { makeRepository } from './repos';

const BUILD_TIMEOUT = 30_000;

// Each test builds two or three releases through real git servers: more than the
// default 30 s when the machine is busy.
test.describe.configure({ timeout: 90_000 });

async function createIntegration(page: Page, jsEnabled: boolean, name: string, repository: string): Promise<void> {
  await page.goto('/integrations/new');
  await hydrated(page, jsEnabled);
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('Repository').fill(repository);
  await page.getByRole('button', { name: 'Create Integration' }).click();
  await expect(page.getByRole('heading', { level: 1, name })).toBeVisible();
}

async function build(page: Page, jsEnabled: boolean, release: string, status: 'Succeeded' | 'Failed'): Promise<void> {
  await hydrated(page, jsEnabled);
  await page.getByLabel('Branch, tag or commit').fill('');
  await page.getByRole('button', { name: 'Build Release' }).click();
  const row = page.locator(`tr[data-release="${release}"]`);
  await expect(row.getByTestId('release-status')).toHaveText(status, { timeout: BUILD_TIMEOUT });
}

async function openAccess(page: Page, jsEnabled: boolean): Promise<void> {
  await page.getByRole('link', { name: 'Repository Access and Build on Push' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Repository Access' })).toBeVisible();
  await hydrated(page, jsEnabled);
}

test('a deploy key fetches a repository over SSH and pins the host key', async ({ signedIn: page, jsEnabled }, info) => {
  const sshd = await startSshd();
  try {
    const name = `E2E deploy key ${info.project.name}`;
    await createIntegration(page, jsEnabled, name, `ssh://root@127.0.0.1:${sshd.port}${makeRepository()}`);
    // Without a key the host refuses, and the release says what to do.
    await build(page, jsEnabled, 'v1 (main)', 'Failed');
    await expect(page.locator('tr[data-release="v1 (main)"]').getByTestId('release-error')).toContainText(
      'asks for an SSH key',
    );

    await openAccess(page, jsEnabled);
    await page.getByLabel(/SSH deploy key/).check();
    await page.getByRole('button', { name: 'Save Repository Access' }).click();
    await expect(page.getByText('Repository access saved')).toBeVisible();
    const publicKey = await page.getByTestId('deploy-key').inputValue();
    expect(publicKey).toMatch(/^ssh-ed25519 \S+ integration-hub deploy key for /);
    await expect(page.getByText('None pinned yet')).toBeVisible();
    sshd.authorize(publicKey);

    await page.getByRole('link', { name }).click();
    await expect(page.getByText('SSH deploy key', { exact: true })).toBeVisible();
    await build(page, jsEnabled, 'v2 (main)', 'Succeeded');
    await page.getByRole('link', { name: 'v2 (main)' }).click();
    await expect(page.getByTestId('build-log')).toContainText("with the integration's deploy key");
    await expect(page.getByTestId('build-log')).toContainText('Pinned the SSH host key');
    await expect(page.getByTestId('build-log')).not.toContainText('PRIVATE KEY');

    // The pinned key is shown by its fingerprint, and can be forgotten.
    await page.getByRole('link', { name }).click();
    await openAccess(page, jsEnabled);
    await expect(page.getByTestId('host-keys')).toContainText('SHA256:');
    await page.getByRole('button', { name: 'Forget Pinned Key' }).click();
    await expect(page.getByText('pinned host key is forgotten')).toBeVisible();
    await expect(page.getByText('None pinned yet')).toBeVisible();
    // A pasted line that is not a host key is an error by the field, and stays typed.
    await hydrated(page, jsEnabled);
    await page.getByLabel('Pin a host key').fill('not a host key');
    await page.getByRole('button', { name: 'Pin Host Key' }).click();
    await expect(page.getByLabel('Pin a host key')).toHaveAttribute('aria-invalid', 'true');
    await expect(page.getByLabel('Pin a host key')).toHaveValue('not a host key');
  } finally {
    sshd.close();
  }
});

test('an access token fetches over HTTPS, and a push builds the pushed commit', async ({ signedIn: page, jsEnabled }, info) => {
  const repo = makeRepository();
  const token = `tok-${info.project.name}-${Date.now()}`;
  const server = await startGitHttp(path.dirname(repo), 'e2e-bot', token);
  try {
    const name = `E2E token ${info.project.name}`;
    await createIntegration(page, jsEnabled, name, server.url(path.basename(repo)));
    await build(page, jsEnabled, 'v1 (main)', 'Failed');
    await expect(page.locator('tr[data-release="v1 (main)"]').getByTestId('release-error')).toContainText(
      'the repository is private',
    );

    await openAccess(page, jsEnabled);
    await page.getByLabel(/HTTPS access token/).check();
    await page.getByLabel('User name').fill('e2e-bot');
    // Without a token it is an error by the field.
    await page.getByRole('button', { name: 'Save Repository Access' }).click();
    await expect(page.getByText('Paste the access token.')).toBeVisible();
    await hydrated(page, jsEnabled);
    await page.getByLabel(/HTTPS access token/).check();
    await page.getByLabel('User name').fill('e2e-bot');
    await page.getByLabel('Token', { exact: true }).fill(token);
    await page.getByRole('button', { name: 'Save Repository Access' }).click();
    await expect(page.getByText('Repository access saved')).toBeVisible();
    await expect(page.getByText('A token is stored')).toBeVisible();
    await expect(page.locator('body')).not.toContainText(token);

    // Build on push, with a push's build made the default release.
    await page.getByLabel('A successful build of a push becomes the default release').check();
    await page.getByRole('button', { name: 'Turn On Build on Push' }).click();
    const secret = await page.getByTestId('revealed-secret').inputValue();
    const url = await page.getByTestId('push-url').inputValue();
    expect(url).toMatch(/\/hooks\/push\/\S+$/);
    expect(secret.length).toBeGreaterThan(20);

    const head = (await import('node:child_process'))
      .execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repo })
      .toString()
      .trim();
    const body = JSON.stringify({ ref: 'refs/heads/main', after: head, repository: { full_name: 'acme/e2e' } });
    const send = (signature: string) =>
      fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-GitHub-Event': 'push', 'X-Hub-Signature-256': signature },
        body,
      });
    const forged = await send(`sha256=${createHmac('sha256', 'not-the-secret').update(body).digest('hex')}`);
    expect(forged.status).toBe(401);
    const pushed = await send(`sha256=${createHmac('sha256', secret).update(body).digest('hex')}`);
    expect(pushed.status).toBe(202);

    await page.getByRole('link', { name }).click();
    const release = `v2 (main @ ${head.slice(0, 7)})`;
    const row = page.locator(`tr[data-release="${release}"]`);
    await expect(row.getByTestId('release-status')).toHaveText('Succeeded', { timeout: BUILD_TIMEOUT });
    await expect(row.getByText('Default', { exact: true })).toBeVisible();
    await page.getByRole('link', { name: release }).click();
    await expect(page.getByTestId('build-log')).toContainText("with the integration's access token");
    await expect(page.getByTestId('build-log')).not.toContainText(token);

    // The deliveries are listed: the forged one refused, the signed one built.
    await page.goto(new URL(page.url()).origin + '/integrations');
    await page.getByRole('link', { name }).click();
    await openAccess(page, jsEnabled);
    const deliveries = page.getByTestId('push-delivery');
    await expect(deliveries).toHaveCount(2);
    await expect(deliveries.nth(0)).toContainText('Built');
    await expect(deliveries.nth(1)).toContainText('Refused');
  } finally {
    server.close();
  }
});
