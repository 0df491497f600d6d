import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCode, fileSystemError, isTf2TorchError, Tf2TorchError } from '../src/errors.js';

test('Tf2TorchError carries a stable code and its context', () => {
  const e = new Tf2TorchError(ErrorCode.TRUNCATED, 'x.index: too short', { file: 'x.index', offset: 12 });
  assert.ok(isTf2TorchError(e));
  assert.equal(e.code, 'E_TRUNCATED');
  assert.equal(e.file, 'x.index');
  assert.equal(e.offset, 12);
  assert.ok(!isTf2TorchError(new Error('plain')));
});

test('fileSystemError: each errno has a stable code and a message naming the path; other errors pass unchanged', () => {
  const errno = (code: string, syscall: string, path?: string) =>
    Object.assign(new Error(`${code}: x, ${syscall}`), { code, syscall, ...(path === undefined ? {} : { path }) });
  const cases: [string, string][] = [
    ['ENOENT', 'E_NOT_FOUND'],
    ['EACCES', 'E_PERMISSION'],
    ['EPERM', 'E_PERMISSION'],
    ['EROFS', 'E_READ_ONLY'],
    ['ENOSPC', 'E_NO_SPACE'],
    ['EBUSY', 'E_BUSY'],
    ['ENAMETOOLONG', 'E_NAME_TOO_LONG'],
    ['ENOTDIR', 'E_NOT_A_DIRECTORY'],
    ['EISDIR', 'E_IS_A_DIRECTORY'],
    ['EIO', 'E_FILE_SYSTEM'],
    ['EWHATEVER', 'E_FILE_SYSTEM'],
  ];
  for (const [code, expected] of cases) {
    const mapped = fileSystemError(errno(code, 'open', '/data/model.bin'));
    assert.ok(isTf2TorchError(mapped), code);
    assert.equal(mapped.code, expected, code);
    assert.equal(mapped.file, '/data/model.bin');
    assert.match(mapped.message, new RegExp(`^cannot open /data/model\\.bin: .+ \\(${code}\\)$`));
  }
  const write = fileSystemError(errno('ENOSPC', 'write'), 'out/model.bin', 'write') as Tf2TorchError;
  assert.match(write.message, /^cannot write out\/model\.bin: no space left on the device/);
  const bug = new TypeError('x is undefined');
  assert.equal(fileSystemError(bug), bug);
});
