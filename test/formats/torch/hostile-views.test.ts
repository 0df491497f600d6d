/**
 * Tensor views whose element count is not bounded by their storage: an expanded tensor (stride 0)
 * of 2^40 elements over one stored float made read() allocate by the view's size (RangeError, or a
 * gigabyte from a 1 KB file). Written by the real torch.save, zip and legacy.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Tf2TorchError } from '../../../src/errors.js';
import { openTorchFile } from '../../../src/formats/torch/read.js';
import { runPython, torchPython } from '../../support/python.js';
import { tempDir } from '../../support/temp.js';

const SAVE_EXPANDED = String.raw`
import sys, torch
for path, zip_format in ((sys.argv[1], True), (sys.argv[2], False)):
    torch.save({'ok': torch.ones(3), 'expanded': torch.zeros(1).expand(int(sys.argv[3]))}, path, _use_new_zipfile_serialization=zip_format)
`;

test('an expanded (stride 0) tensor larger than its storage is E_UNSUPPORTED when opened, for both containers', async (t) => {
  const python = torchPython(t);
  if (!python) return;
  const dir = tempDir(t, 'views');
  for (const elements of [2 ** 40, 2 ** 28, 2]) {
    const [zip, legacy] = [join(dir, `zip-${elements}.bin`), join(dir, `legacy-${elements}.bin`)];
    runPython(python, SAVE_EXPANDED, [zip, legacy, String(elements)]);
    for (const path of [zip, legacy]) {
      for (const policy of ['weights', 'checkpoint'] as const) {
        await assert.rejects(openTorchFile(path, { policy }), (e: Tf2TorchError) => {
          assert.equal(e.name, 'Tf2TorchError', String(e));
          assert.equal(e.code, 'E_UNSUPPORTED');
          assert.equal(e.file, path);
          assert.match(
            e.message,
            new RegExp(
              `size \\[${elements}\\] \\(stride \\[0\\]\\) has more elements than its storage .* \\(1\\): an expanded`,
            ),
          );
          return true;
        });
      }
    }
  }
});
