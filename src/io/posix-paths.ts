/**
 * '/'-separated path arithmetic without a file system or working directory: the syntax of trees built
 * from picked files (relative paths resolve against '/'). Node's `path.posix` gives the same answers.
 */
import type { PathSyntax } from './byte-source.js';

function normalize(path: string): string {
  const absolute = path.startsWith('/');
  const out: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!absolute) out.push('..');
    } else out.push(part);
  }
  const joined = out.join('/');
  return absolute ? `/${joined}` : joined || '.';
}

export const POSIX_PATHS: PathSyntax = {
  sep: '/',
  join: (...parts) => normalize(parts.filter((p) => p !== '').join('/') || '.'),
  dirname(path) {
    const trimmed = path.length > 1 ? path.replace(/\/+$/, '') : path;
    const at = trimmed.lastIndexOf('/');
    if (at < 0) return '.';
    return at === 0 ? '/' : trimmed.slice(0, at);
  },
  basename(path, suffix) {
    const trimmed = path.length > 1 ? path.replace(/\/+$/, '') : path;
    const base = trimmed.slice(trimmed.lastIndexOf('/') + 1);
    return suffix !== undefined && base !== suffix && base.endsWith(suffix) ? base.slice(0, -suffix.length) : base;
  },
  extname(path) {
    const base = POSIX_PATHS.basename(path);
    const dot = base.lastIndexOf('.');
    return dot <= 0 ? '' : base.slice(dot);
  },
  isAbsolute: (path) => path.startsWith('/'),
  resolve(...parts) {
    let path = '';
    for (const p of parts) path = p.startsWith('/') ? p : `${path}/${p}`;
    return normalize(path.startsWith('/') ? path : `/${path}`);
  },
};
