// End-to-end tests run against a freshly built server on a fresh data directory.
// Every spec runs twice: once with JavaScript (hydrated) and once without.
import { defineConfig } from '@playwright/test';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ADMIN_EMAIL, ADMIN_PASSWORD, BASE_URL, MAIL_API_PORT, OAUTH_PORT, OAUTH_URL, PORT, SMTP_PORT } from './tests/env';

const repo = path.resolve(__dirname, '..');
// The main process creates the data directory and passes it on, so workers
// (which load this file again) reuse it rather than make their own.
const dataDir =
  process.env.HUB_E2E_DATA_DIR ?? (process.env.HUB_E2E_DATA_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'hub-e2e-')));

// The hub's connectors for the tests: the shipped ones, plus `mockauth`, an OAuth2
// connector whose provider is the mock server started below.
function connectorsDir(): string {
  if (process.env.HUB_E2E_CONNECTORS_DIR) return process.env.HUB_E2E_CONNECTORS_DIR;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hub-e2e-connectors-'));
  for (const f of fs.readdirSync(path.join(repo, 'connectors')).filter((f) => f.endsWith('.yaml'))) {
    fs.copyFileSync(path.join(repo, 'connectors', f), path.join(dir, f));
  }
  fs.writeFileSync(
    path.join(dir, 'mockauth.yaml'),
    [
      'name: mockauth',
      'display_name: Mock Auth',
      'auth: oauth2',
      'oauth2:',
      `  authorize_url: ${OAUTH_URL}/authorize`,
      `  token_url: ${OAUTH_URL}/token`,
      '  scopes: [read]',
      '  client_id: e2e-client',
      '  client_secret: e2e-client-secret',
      '  pkce: true',
      'info: |',
      '  A test provider on loopback. The person who opens the link approves access.',
      '',
    ].join('\n'),
  );
  // The same provider reached through a per-connection parameter: the server's host.
  fs.writeFileSync(
    path.join(dir, 'hostauth.yaml'),
    [
      'name: hostauth',
      'display_name: Hosted Auth',
      'auth: oauth2',
      'parameters:',
      "  - { name: host, label: Server, pattern: 'localhost|127\\.0\\.0\\.1', help: The address of your server., example: localhost }",
      'oauth2:',
      `  authorize_url: http://{host}:${OAUTH_PORT}/authorize`,
      `  token_url: http://{host}:${OAUTH_PORT}/token`,
      '  scopes: [openid, read]',
      '  client_id: e2e-client',
      '  client_secret: e2e-client-secret',
      '  client_auth: body',
      '  token_fields: [id_token]',
      '',
    ].join('\n'),
  );
  return (process.env.HUB_E2E_CONNECTORS_DIR = dir);
}
const connectors = connectorsDir();

export default defineConfig({
  testDir: './tests',
  globalSetup: './global-setup.ts',
  fullyParallel: true,
  workers: 2,
  retries: 0,
  forbidOnly: !!process.env.CI,
  timeout: 30_000,
  expect: { timeout: 10_000 },
  reporter: process.env.CI ? [['list']] : [['list'], ['html', { open: 'never' }]],
  use: {
    baseURL: BASE_URL,
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
  projects: [
    { name: 'js', use: { javaScriptEnabled: true } },
    { name: 'no-js', use: { javaScriptEnabled: false } },
  ],
  webServer: [
  {
    // A real SMTP server on loopback, with an HTTP API to read what arrived.
    command: `node node_modules/maildev/dist/bin/maildev.js --ip 127.0.0.1 --web-ip 127.0.0.1 --smtp ${SMTP_PORT} --web ${MAIL_API_PORT}`,
    cwd: __dirname,
    url: `http://127.0.0.1:${MAIL_API_PORT}/api/healthz`,
    reuseExistingServer: false,
    timeout: 30_000,
    stdout: 'ignore',
    stderr: 'pipe',
  },
  {
    // A real OAuth2 server on loopback: authorize, token (with PKCE), refresh.
    command: `node node_modules/oauth2-mock-server/dist/oauth2-mock-server.mjs -a 127.0.0.1 -p ${OAUTH_PORT}`,
    cwd: __dirname,
    url: `${OAUTH_URL}/.well-known/openid-configuration`,
    reuseExistingServer: false,
    timeout: 30_000,
    stdout: 'ignore',
    stderr: 'pipe',
  },
  {
    command: process.env.HUB_E2E_SERVER ?? 'target/release/server',
    cwd: repo,
    url: `${BASE_URL}/healthz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'pipe',
    stderr: 'pipe',
    env: {
      HUB_ADDR: `127.0.0.1:${PORT}`,
      HUB_DATA_DIR: dataDir,
      HUB_ADMIN_EMAIL: ADMIN_EMAIL,
      HUB_ADMIN_PASSWORD: ADMIN_PASSWORD,
      HUB_COMPANY_NAME: 'Acme Test Co',
      HUB_CONNECTORS_DIR: connectors,
      HUB_PUBLIC_URL: BASE_URL,
      HUB_SAMPLES_DIR: path.join(repo, 'samples'),
      // Slack's client id is left unset on purpose: the connectors page says so.
      SLACK_CLIENT_ID: '',
      // The test's receivers, git and OAuth2 servers listen on loopback.
      HUB_ALLOW_PRIVATE_TARGETS: '127.0.0.0/8, ::1',
      // ...and the sandboxed git reaches the SSH and HTTP git servers there.
      HUB_SANDBOX_LOCAL_NETWORK: 'allow',
      HUB_SMTP_HOST: '127.0.0.1',
      HUB_SMTP_PORT: String(SMTP_PORT),
      HUB_SMTP_TLS: 'none',
      HUB_MAIL_FROM: 'Integration Hub <hub@e2e.example.com>',
      LEPTOS_SITE_ROOT: path.join(repo, 'target/site'),
      RUST_LOG: 'info,sqlx=warn',
    },
  },
  ],
});
