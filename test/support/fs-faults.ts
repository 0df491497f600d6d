/**
 * Loaded with `node --import` into a CLI child: makes one kind of file system call fail with a chosen
 * errno for paths containing a substring, for the failures a test cannot cause as root (EACCES on a
 * readable file, EROFS, ENOSPC). `TF2TORCH_FS_FAULT=CODE:call:substring`, call one of
 * open | access | readdir | write | mkdir. Patches Node's fs (CommonJS and ESM views), nothing else.
 */
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

export const FS_FAULT_ENV = 'TF2TORCH_FS_FAULT';

const [code = '', call = '', match = ''] = (process.env[FS_FAULT_ENV] ?? '').split(':');

function fault(syscall: string, path: string): NodeJS.ErrnoException {
  const e: NodeJS.ErrnoException = new Error(`${code}: injected failure, ${syscall} '${path}'`);
  e.code = code;
  e.syscall = syscall;
  e.path = path;
  return e;
}

const hits = (path: unknown) => String(path).includes(match);

if (code !== '') {
  if (call === 'open') {
    const openSync = fs.openSync as (...args: unknown[]) => number;
    const open = fs.promises.open;
    fs.openSync = ((path: fs.PathLike, ...rest: unknown[]) => {
      if (hits(path)) throw fault('open', String(path));
      return openSync(path, ...rest);
    }) as typeof fs.openSync;
    fs.promises.open = (async (path: fs.PathLike, ...rest: never[]) => {
      if (hits(path)) throw fault('open', String(path));
      return open(path, ...rest);
    }) as typeof fs.promises.open;
  } else if (call === 'access') {
    const { accessSync } = fs;
    fs.accessSync = (path: fs.PathLike, mode?: number) => {
      if (hits(path)) throw fault('access', String(path));
      accessSync(path, mode);
    };
  } else if (call === 'readdir') {
    const readdir = fs.promises.readdir;
    fs.promises.readdir = (async (path: fs.PathLike, ...rest: never[]) => {
      if (hits(path)) throw fault('scandir', String(path));
      return readdir(path, ...rest);
    }) as typeof fs.promises.readdir;
  } else if (call === 'mkdir') {
    const mkdir = fs.promises.mkdir;
    fs.promises.mkdir = (async (path: fs.PathLike, ...rest: never[]) => {
      if (hits(path)) throw fault('mkdir', String(path));
      return mkdir(path, ...rest);
    }) as typeof fs.promises.mkdir;
  } else if (call === 'write') {
    // Handles opened on a matching path fail their writes (write has no path of its own, as with ENOSPC).
    const open = fs.promises.open;
    fs.promises.open = (async (path: fs.PathLike, ...rest: never[]) => {
      const handle = await open(path, ...rest);
      if (hits(path)) {
        const failing = async () => {
          const e = fault('write', String(path));
          delete e.path;
          throw e;
        };
        Object.assign(handle, { write: failing, writev: failing, writeFile: failing });
      }
      return handle;
    }) as typeof fs.promises.open;
  }
  syncBuiltinESMExports();
}
