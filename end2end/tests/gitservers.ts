// Real git servers on loopback for private repositories: Debian's sshd letting in
// one key, and git's own smart-HTTP CGI (`git http-backend`) behind a Node HTTP
// server that asks for a user name and token.
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';

export type Sshd = { port: number; authorize(publicKey: string): void; close(): void };

/** sshd on a free loopback port, letting root in with the key given to `authorize`. */
export async function startSshd(): Promise<Sshd> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hub-e2e-sshd-'));
  const hostKey = path.join(dir, 'host_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey], { stdio: 'pipe' });
  const keys = path.join(dir, 'authorized_keys');
  fs.writeFileSync(keys, '');
  fs.mkdirSync('/run/sshd', { recursive: true });
  const port = await freePort();
  const config = path.join(dir, 'sshd_config');
  fs.writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `AuthorizedKeysFile ${keys}`,
      'PidFile none',
      'StrictModes no',
      'UsePAM no',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      'PermitRootLogin prohibit-password',
      'AllowUsers root',
      '',
    ].join('\n'),
  );
  const child = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let said = '';
    child.stderr.on('data', (chunk: Buffer) => {
      said += chunk.toString();
      if (said.includes('Server listening on')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`sshd ended (${code}): ${said}`)));
  });
  return {
    port,
    authorize: (publicKey) => fs.writeFileSync(keys, `${publicKey.trim()}\n`),
    close: () => {
      child.kill();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export type GitHttp = { url(repository: string): string; close(): void };

/**
 * git's smart-HTTP server for the repositories under `root`, answering 401 unless a
 * request carries `user:token` in Basic auth.
 */
export async function startGitHttp(root: string, user: string, token: string): Promise<GitHttp> {
  const expected = `Basic ${Buffer.from(`${user}:${token}`).toString('base64')}`;
  const server = http.createServer((req, res) => {
    if (req.headers.authorization !== expected) {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"' }).end();
      return;
    }
    const [pathInfo, query = ''] = (req.url ?? '/').split('?');
    const body: Buffer[] = [];
    req.on('data', (c: Buffer) => body.push(c));
    req.on('end', () => {
      const input = Buffer.concat(body);
      const cgi = spawn('git', ['http-backend'], {
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          GIT_PROJECT_ROOT: root,
          GIT_HTTP_EXPORT_ALL: '1',
          PATH_INFO: pathInfo,
          QUERY_STRING: query,
          REQUEST_METHOD: req.method ?? 'GET',
          CONTENT_TYPE: req.headers['content-type'] ?? '',
          CONTENT_LENGTH: String(input.length),
          GIT_PROTOCOL: String(req.headers['git-protocol'] ?? ''),
          REMOTE_USER: user,
        },
      });
      const out: Buffer[] = [];
      cgi.stdout.on('data', (c: Buffer) => out.push(c));
      cgi.on('close', () => {
        const all = Buffer.concat(out);
        let end = all.indexOf('\r\n\r\n');
        let gap = 4;
        if (end < 0) [end, gap] = [all.indexOf('\n\n'), 2];
        const head = end < 0 ? '' : all.subarray(0, end).toString();
        let status = 200;
        const headers: Record<string, string> = {};
        for (const line of head.split(/\r?\n/)) {
          const at = line.indexOf(':');
          if (at < 0) continue;
          const [name, value] = [line.slice(0, at).trim(), line.slice(at + 1).trim()];
          if (name.toLowerCase() === 'status') status = Number(value.split(' ')[0]);
          else headers[name] = value;
        }
        res.writeHead(status, headers).end(end < 0 ? all : all.subarray(end + gap));
      });
      // git may answer without reading its input (a GET of the refs) and exit first:
      // writing to it then fails with EPIPE, which is no fault of the request, and an
      // unheard stream error would end the test process, not just this answer.
      cgi.stdin.on('error', () => {});
      cgi.stdin.end(input);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: (repository) => `http://127.0.0.1:${port}/${repository}`, close: () => server.close() };
}

async function freePort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
