/**
 * A real HTTP server for the remote-source tests: Debian's nginx, started on 127.0.0.1 with a
 * configuration, pid file, logs and temporary folders of its own under a temporary prefix, serving
 * folders at URL paths with its own Range, ETag and If-Match handling. Its access log records the body
 * bytes of every answer, so tests count what crossed the network. Without nginx a test skips with a
 * visible notice, except under CI=true, where it fails.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { IN_CI } from './fixtures.js';
import { tempDir } from './temp.js';

const NGINX = process.env.TF2TORCH_NGINX ?? '/usr/sbin/nginx';

export interface AccessLogLine {
  readonly method: string;
  readonly uri: string;
  readonly status: number;
  readonly bodyBytes: number;
  readonly range: string;
}

export interface Nginx {
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  /** Every answer so far, in order (the log is written as each request ends). */
  accessLog(): AccessLogLine[];
  /** Body bytes sent for URIs starting with `prefix` (all of them without one). */
  bytesSent(prefix?: string): number;
}

/** nginx's path, or undefined after marking the test skipped (fails in CI). */
export function nginxBinary(t: TestContext): string | undefined {
  if (existsSync(NGINX)) return NGINX;
  const notice = `nginx not found at ${NGINX} (apt-get install nginx; or set TF2TORCH_NGINX)`;
  if (IN_CI) throw new Error(`${notice}; CI=true requires it`);
  console.error(`SKIP: ${notice}`);
  t.skip(notice);
  return undefined;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess, errorLog: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null)
      throw new Error(`nginx exited ${child.exitCode}:\n${existsSync(errorLog) ? readFileSync(errorLog, 'utf8') : ''}`);
    const ok = await fetch(`http://127.0.0.1:${port}/`, { method: 'HEAD' }).then(
      () => true,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('nginx did not start listening');
}

/**
 * nginx serving each `roots[urlPath] = folder` (urlPath like '/fixtures/'), stopped when the test ends.
 * Undefined (test skipped) when nginx is not installed.
 */
export async function startNginx(
  t: TestContext,
  roots: Readonly<Record<string, string>>,
  /** Cross-origin reads allowed (a page on another origin): the CORS headers on every answer, preflights answered. */
  { cors = false }: { cors?: boolean } = {},
): Promise<Nginx | undefined> {
  const binary = nginxBinary(t);
  if (binary === undefined) return undefined;
  const prefix = tempDir(t, 'nginx');
  for (const dir of ['logs', 'tmp']) mkdirSync(join(prefix, dir));
  const port = await freePort();
  const accessLog = join(prefix, 'logs', 'access.log');
  const errorLog = join(prefix, 'logs', 'error.log');
  const locations = Object.entries(roots)
    .map(([at, folder]) => `    location ${at} { alias ${folder.replace(/\/?$/, '/')}; }`)
    .join('\n');
  const corsHeaders = cors
    ? `
    add_header Access-Control-Allow-Origin "*" always;
    add_header Access-Control-Expose-Headers "ETag, Content-Range, Content-Length" always;
    add_header Access-Control-Allow-Headers "Range, If-Match, Authorization, X-Goog-If-Generation-Match" always;
    add_header Access-Control-Allow-Methods "GET, HEAD" always;
    add_header Access-Control-Max-Age "600" always;
    if ($request_method = OPTIONS) { return 204; }`
    : '';
  const config = `
daemon off;
master_process on;
worker_processes 2;
${process.getuid?.() === 0 ? 'user root;' : ''}
pid ${join(prefix, 'nginx.pid')};
error_log ${errorLog} warn;
events { worker_connections 256; }
http {
  default_type application/octet-stream;
  log_format bytes '$request_method $uri $status $body_bytes_sent "$http_range"';
  access_log ${accessLog} bytes;
  client_body_temp_path ${join(prefix, 'tmp', 'body')};
  proxy_temp_path ${join(prefix, 'tmp', 'proxy')};
  fastcgi_temp_path ${join(prefix, 'tmp', 'fastcgi')};
  uwsgi_temp_path ${join(prefix, 'tmp', 'uwsgi')};
  scgi_temp_path ${join(prefix, 'tmp', 'scgi')};
  sendfile on;
  keepalive_timeout 30s;
  server {
    listen 127.0.0.1:${port};${corsHeaders}
${locations}
  }
}
`;
  const configPath = join(prefix, 'nginx.conf');
  writeFileSync(configPath, config);
  const child = spawn(binary, ['-p', prefix, '-c', configPath, '-e', errorLog], { stdio: 'ignore' });
  const stopped = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  t.after(async () => {
    child.kill('SIGQUIT'); // graceful: workers finish, then the master exits
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await stopped;
    clearTimeout(timer);
  });
  await waitForPort(port, child, errorLog);
  const read = (): AccessLogLine[] =>
    (existsSync(accessLog) ? readFileSync(accessLog, 'utf8') : '')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => {
        const m = /^(\S+) (\S+) (\d+) (\d+) "(.*)"$/.exec(line);
        if (m === null) throw new Error(`unexpected access log line: ${line}`);
        return { method: m[1]!, uri: m[2]!, status: Number(m[3]), bodyBytes: Number(m[4]), range: m[5]! };
      });
  return {
    origin: `http://127.0.0.1:${port}`,
    accessLog: read,
    bytesSent: (prefix = '') =>
      read()
        .filter((l) => l.uri.startsWith(prefix))
        .reduce((sum, l) => sum + l.bodyBytes, 0),
  };
}
