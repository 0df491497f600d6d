/**
 * URLs as paths of a `FileTree`: `https://host/a/b` and `gs://bucket/a/b` are joined, split and resolved
 * like '/' paths after their origin, so a checkpoint prefix's `.index`, shards and sidecars are found by
 * the openers' own path arithmetic. Paths keep the spelling the user typed (messages show `gs://…`);
 * `httpUrlOf` maps them to what is fetched. Anything that is not a URL goes to a fallback syntax.
 */
import { ErrorCode, Tf2TorchError } from '../errors.js';
import type { PathSyntax } from './byte-source.js';
import { POSIX_PATHS } from './posix-paths.js';

/** Cloud Storage's public endpoint: `gs://bucket/object` is `…/bucket/object` (the XML API). */
export const GCS_PUBLIC_BASE = 'https://storage.googleapis.com';

const URL_PREFIX = /^(https?|gs):\/\//i;
/** origin (scheme and authority), then the path; no query or fragment (checked by `checkUrl`). */
const URL_PARTS = /^([a-z][a-z0-9+.-]*:\/\/[^/?#]*)(.*)$/i;

export function isUrl(path: string): boolean {
  return URL_PREFIX.test(path);
}

function split(url: string): { origin: string; path: string } {
  const m = URL_PARTS.exec(url);
  return { origin: m?.[1] ?? url, path: m?.[2] === undefined || m[2] === '' ? '/' : m[2] };
}

/** The URL as messages show it: user and password replaced by `***`, a query (signatures, tokens) by `?…`. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#@]*@/i, '$1***@').replace(/[?#].*$/s, '?…');
}

/**
 * A usage error unless `url` can name a checkpoint's files: http(s) or gs, a host, no credentials in it
 * (they would end up in messages and logs: the Authorization header comes from the environment), no
 * query (signed URLs name one object; a checkpoint is several).
 */
export function checkUrl(url: string, what: string): void {
  const { origin, path } = split(url);
  let problem: string | undefined;
  if (!URL_PREFIX.test(url)) problem = 'only https://, http:// and gs:// URLs are read';
  else if (origin.includes('@'))
    problem =
      'credentials in a URL would be shown in messages and logs; give them as an Authorization header in TF2TORCH_HTTP_AUTHORIZATION instead';
  else if (/[?#]/.test(path))
    problem = 'a query or fragment cannot name the files beside it (.index, shards, config); remove it';
  else if (origin.replace(URL_PREFIX, '') === '') problem = 'it names no host or bucket';
  if (problem !== undefined)
    throw new Tf2TorchError(ErrorCode.USAGE, `${what} ${redactUrl(url)}: ${problem}`, { file: redactUrl(url) });
}

/** What is fetched for a path: gs://bucket/object → `${gcsBase}/bucket/object`; http(s) as it is. */
export function httpUrlOf(url: string, gcsBase = GCS_PUBLIC_BASE): string {
  if (!/^gs:\/\//i.test(url)) return url;
  const { origin, path } = split(url);
  const bucket = origin.slice('gs://'.length);
  return `${gcsBase.replace(/\/+$/, '')}/${bucket}${path
    .split('/')
    .map((part) => encodeURIComponent(decodeURIComponentSafe(part)))
    .join('/')}`;
}

function decodeURIComponentSafe(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

/** Path arithmetic over URLs, and `fallback`'s (local paths) for anything else. */
export function urlPaths(fallback: PathSyntax = POSIX_PATHS): PathSyntax {
  const onUrl = <T>(path: string, url: (origin: string, path: string) => T, other: () => T): T => {
    if (!isUrl(path)) return other();
    const parts = split(path);
    return url(parts.origin, parts.path);
  };
  return {
    sep: '/',
    join: (...parts) => {
      const [first = '', ...rest] = parts;
      return onUrl(
        first,
        (origin, path) => origin + POSIX_PATHS.join(path, ...rest),
        () => fallback.join(...parts),
      );
    },
    dirname: (path) =>
      onUrl(
        path,
        (origin, p) => origin + POSIX_PATHS.dirname(p),
        () => fallback.dirname(path),
      ),
    basename: (path, suffix) =>
      onUrl(
        path,
        (_, p) => POSIX_PATHS.basename(p, suffix),
        () => fallback.basename(path, suffix),
      ),
    extname: (path) =>
      onUrl(
        path,
        (_, p) => POSIX_PATHS.extname(p),
        () => fallback.extname(path),
      ),
    isAbsolute: (path) => isUrl(path) || fallback.isAbsolute(path),
    resolve: (...parts) => {
      let last = -1;
      for (let i = parts.length - 1; i >= 0 && last < 0; i--) if (isUrl(parts[i] as string)) last = i;
      if (last < 0) return fallback.resolve(...parts);
      const { origin, path } = split(parts[last] as string);
      return origin + POSIX_PATHS.resolve(path, ...parts.slice(last + 1));
    },
  };
}
