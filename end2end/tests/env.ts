// Where the test hub listens and the admin it is started with.
export const PORT = Number(process.env.HUB_E2E_PORT ?? 3947);
export const BASE_URL = `http://127.0.0.1:${PORT}`;
export const ADMIN_EMAIL = 'admin@e2e.example.com';
export const ADMIN_PASSWORD = 'e2e-admin-password';
export const SMTP_PORT = Number(process.env.HUB_E2E_SMTP_PORT ?? 3925);
export const MAIL_API_PORT = Number(process.env.HUB_E2E_MAIL_API_PORT ?? 3926);
// The OAuth2 provider the tests connect to (npm oauth2-mock-server, on loopback).
export const OAUTH_PORT = Number(process.env.HUB_E2E_OAUTH_PORT ?? 3948);
export const OAUTH_URL = `http://127.0.0.1:${OAUTH_PORT}`;
