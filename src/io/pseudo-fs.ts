/**
 * Node: paths on the kernel's pseudo-filesystems (/proc, /sys, debugfs, cgroups, …) are refused before any
 * work. Their files report a size of 0 and can block, grow or change while read, and writing into them
 * (an output folder under /proc) can wait forever. Told by the file system's type (statfs), so a bind
 * mount or symlink into one is caught too.
 */
import { statfsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ErrorCode, Tf2TorchError } from '../errors.js';

/** statfs f_type values (linux/magic.h) of file systems that hold no user files. */
const PSEUDO_FILE_SYSTEMS = new Map<number, string>([
  [0x9fa0, 'proc'],
  [0x62656572, 'sysfs'],
  [0x64626720, 'debugfs'],
  [0x74726163, 'tracefs'],
  [0x73636673, 'securityfs'],
  [0x27e0eb, 'cgroup'],
  [0x63677270, 'cgroup2'],
  [0xcafe4a11, 'bpf'],
  [0x62656570, 'configfs'],
  [0x6165676c, 'pstore'],
  [0xde5e81e4, 'efivarfs'],
  [0x65735543, 'fusectl'],
  [0x1cd1, 'devpts'],
  [0x19800202, 'mqueue'],
]);

/** The pseudo-filesystem `path` (or its nearest existing folder) is on, if any. */
function pseudoFileSystemOf(path: string): string | undefined {
  let at = resolve(path);
  for (;;) {
    try {
      return PSEUDO_FILE_SYSTEMS.get(Number(statfsSync(at).type));
    } catch {
      const parent = dirname(at);
      if (parent === at) return undefined;
      at = parent;
    }
  }
}

/** E_PSEUDO_FILE_SYSTEM when `path` is on /proc, /sys or another kernel pseudo-filesystem. */
export function refusePseudoFileSystem(path: string, role: 'checkpoint' | 'output'): void {
  const fs = pseudoFileSystemOf(path);
  if (fs === undefined) return;
  throw new Tf2TorchError(
    ErrorCode.PSEUDO_FILE_SYSTEM,
    `${path}: on the kernel's ${fs} pseudo-filesystem, which holds no model files; give a ${role === 'output' ? 'folder on a disk for the output' : 'checkpoint on a disk'}`,
    { file: path },
  );
}
