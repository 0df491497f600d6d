/** `npm run web`: serves the built page (dist/web/site) on 127.0.0.1 only; nothing else is reachable. */
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { WEB_OUT } from './build.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json',
};

/** Starts the server; `port` 0 picks a free one. */
export function serveWeb(port = 8765, root = WEB_OUT): Promise<Server> {
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const name = normalize(url.pathname === '/' ? '/index.html' : url.pathname);
    const type = TYPES[extname(name)];
    if (name.includes('..') || type === undefined) {
      res.writeHead(404).end();
      return;
    }
    try {
      const body = await readFile(join(root, name));
      res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((done) => server.listen(port, '127.0.0.1', () => done(server)));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  serveWeb(Number(process.env.PORT ?? 8765)).then((server) => {
    const address = server.address();
    if (address && typeof address === 'object') console.log(`tf2torch page: http://127.0.0.1:${address.port}/`);
  });
}
