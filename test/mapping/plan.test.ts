/** buildPlan on synthetic listings: matching, split/concat, strictness in one error, skip-unknown. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCode, Tf2TorchError } from '../../src/errors.js';
import { formatPlan } from '../../src/mapping/format-plan.js';
import { fillPattern, matchPattern } from '../../src/mapping/pattern.js';
import { buildPlan } from '../../src/mapping/plan.js';
import type { Architecture, TensorInfo } from '../../src/mapping/types.js';

const arch: Architecture = {
  modelType: 'toy',
  summary: 'toy',
  buildConfig: (input) => input.user ?? {},
  stripPrefixes: ['module/'],
  skip: [{ components: ['other_head'], reason: 'a head this model has not' }],
  rules: () => [
    { from: 'block_{b}/w', to: 'blocks.{b}.weight', transforms: [{ op: 'transpose' }] },
    { from: 'bias_stack', to: 'blocks.{i}.bias', split: { axis: 0, as: 'i' } },
    { from: ['q/{x*}', 'k/{x*}'], to: 'qk.{x*}', transforms: [{ op: 'concat', axis: 0 }] },
  ],
  expectedKeys: (c) => [
    ...[0, 1].flatMap((b) => [
      { key: `blocks.${b}.weight`, shape: [c.out as number, 2], fromConfig: '[out, 2]' },
      { key: `blocks.${b}.bias`, shape: [3] },
    ]),
    { key: 'qk.kernel', shape: [4, 2] },
    { key: 'tied', shape: [3, 2], aliasOf: 'blocks.0.weight' },
    { key: 'head.weight', shape: [5], optional: true },
  ],
};

const f32 = (name: string, shape: number[]): TensorInfo => ({ name, dtype: 'float32', shape });
const good = [
  f32('module/block_000/w', [2, 3]),
  f32('block_001/w', [2, 3]),
  f32('block_001/w/adam_m', [2, 3]),
  f32('other_head/w', [2]),
  f32('bias_stack', [2, 3]),
  f32('q/kernel', [2, 2]),
  f32('k/kernel', [2, 2]),
];

function planError(fn: () => unknown): Tf2TorchError {
  try {
    fn();
  } catch (e) {
    if (e instanceof Tf2TorchError) return e;
    throw e;
  }
  assert.fail('expected a Tf2TorchError');
}

test('patterns: digits print as integers in keys, verbatim in names', () => {
  const caps = matchPattern('block_{b}/{rest*}', 'block_007/attn/w');
  assert.deepEqual(caps, { b: '007', rest: 'attn/w' });
  assert.equal(fillPattern('blocks.{b}.{rest*}', caps!, 'key'), 'blocks.7.attn/w');
  assert.equal(fillPattern('block_{b}', caps!, 'name'), 'block_007');
  assert.equal(matchPattern('block_{b}/w', 'block_x/w'), undefined);
});

test('a plan maps, transposes, splits, concatenates, aliases and reports', () => {
  const plan = buildPlan(good, arch, { out: 3 }, { dtype: 'bfloat16' });
  const keys = plan.outputs.map((o) => o.key);
  assert.deepEqual(keys, ['blocks.0.weight', 'blocks.0.bias', 'blocks.1.weight', 'blocks.1.bias', 'qk.kernel', 'tied']);
  const w0 = plan.outputs[0]!;
  assert.ok(w0.kind === 'tensor');
  assert.deepEqual(
    w0.sources.map((s) => s.name),
    ['module/block_000/w'],
  );
  assert.deepEqual(w0.shape, [3, 2]);
  assert.deepEqual(w0.transforms, [{ op: 'transpose' }, { op: 'cast', dtype: 'bfloat16' }]);
  const b1 = plan.outputs[3]!;
  assert.ok(b1.kind === 'tensor' && b1.transforms[0]?.op === 'select' && b1.transforms[0].index === 1);
  assert.deepEqual(plan.skipped, [
    { name: 'block_001/w/adam_m', reason: 'optimizer slot: Adam first moment (adam_m)' },
    { name: 'other_head/w', reason: 'a head this model has not (other_head)' },
  ]);
  assert.deepEqual(plan.missing, [{ key: 'head.weight', shape: [5] }]);
  assert.equal(plan.totalBytes, (6 * 2 + 3 * 2 + 8) * 2);
  const text = formatPlan(plan);
  assert.match(text, /tied \[3, 2\] bfloat16\n {6}= blocks\.0\.weight/);
  assert.match(
    text,
    /qk\.kernel \[4, 2\] bfloat16\n {6}<- q\/kernel \[2, 2\] float32 \+ k\/kernel \[2, 2\] float32 \| concat\(axis=0\) \| cast\(bfloat16\)/,
  );
});

test('strict: every offender in ONE error, naming tensors and config fields', () => {
  const listing = [...good, f32('block_002/w', [2, 3]), f32('mystery', [7]), f32('mystery_scale', [])];
  const e = planError(() => buildPlan(listing, arch, { out: 4 }));
  assert.equal(e.code, ErrorCode.PLAN);
  assert.match(e.message, /mystery \[7\] float32: no rule of 'toy' maps/);
  assert.match(e.message, /mystery_scale \[\] float32: no rule/);
  assert.match(e.message, /blocks\.2\.weight \(from block_002\/w\): not a key of the model/);
  assert.match(
    e.message,
    /blocks\.0\.weight: the checkpoint's module\/block_000\/w gives \[3, 2\], the config expects \[4, 2\] \(\[out, 2\] from the config\)/,
  );
  assert.match(e.message, /5 problem\(s\)/);
});

test('unmapped alone is E_UNMAPPED; --skip-unknown makes it a warning', () => {
  const listing = [...good, f32('mystery', [7])];
  assert.equal(planError(() => buildPlan(listing, arch, { out: 3 })).code, ErrorCode.UNMAPPED);
  const plan = buildPlan(listing, arch, { out: 3 }, { skipUnknown: true });
  assert.deepEqual(
    plan.unmapped.map((u) => u.name),
    ['mystery'],
  );
  assert.match(plan.warnings.join('\n'), /1 checkpoint variable\(s\) match no rule/);
});

test('duplicate targets, missing required keys and missing concat partners are errors', () => {
  const dup = planError(() => buildPlan([...good, f32('block_0/w', [2, 3])], arch, { out: 3 }));
  assert.match(dup.message, /blocks\.0\.weight: produced twice, from module\/block_000\/w and from block_0\/w/);
  const missing = planError(() =>
    buildPlan(
      good.filter((g) => g.name !== 'block_001/w' && g.name !== 'k/kernel'),
      arch,
      { out: 3 },
    ),
  );
  assert.match(missing.message, /blocks\.1\.weight \[3, 2\]: required, but no checkpoint variable maps to it/);
  assert.match(missing.message, /q\/kernel: rule 'qk\.\{x\*\}' also needs 'k\/kernel'/);
});

test('a wrong model type: the error lists 20 problems of a kind, counts the rest, and asks about --model_type', () => {
  const foreign = Array.from({ length: 30 }, (_, i) => f32(`other/var_${i}`, [2]));
  assert.throws(
    () => buildPlan(foreign, arch, { out: 3 }),
    (e: unknown) => {
      assert.ok(e instanceof Tf2TorchError);
      const unmappedLines = e.message.split('\n').filter((l) => l.includes('no rule of'));
      assert.equal(unmappedLines.length, 20);
      assert.match(e.message, /other\/var_0 \[2\] float32: no rule of 'toy'/);
      assert.match(e.message, /… and 10 more like these/);
      assert.match(e.message, /no variable matched a rule of 'toy': is --model_type right\?/);
      return true;
    },
  );
});

test('a pass-through architecture keeps the checkpoint order and ties equal storage views, not overlapping ones', () => {
  const passThrough: Architecture = {
    modelType: 'copy',
    summary: 'copy',
    buildConfig: () => ({}),
    skip: [],
    rules: () => [
      { from: 'head.{x*}', to: 'head.{x*}' },
      { from: 't.{x*}', to: 'm.t.{x*}', transforms: [{ op: 'transpose' }] },
      { from: '{x*}', to: 'm.{x*}' },
    ],
    expectedKeys: () => [],
  };
  const view = (key: string, offset: number, shape: number[], stride: number[], file = 'a.pth') => ({
    file,
    key,
    dtype: 'float32' as const,
    offset,
    shape,
    stride,
  });
  const listing: TensorInfo[] = [
    { ...f32('emb', [4, 3]), view: view('0', 0, [4, 3], [3, 1]) },
    { ...f32('first_row', [1, 3]), view: view('0', 0, [1, 3], [99, 1]) }, // a slice: same start, fewer elements
    { ...f32('flat', [12]), view: view('0', 0, [12], [1]) }, // same elements, another shape
    { ...f32('other_file', [4, 3]), view: view('0', 0, [4, 3], [3, 1], 'b.pth') },
    { ...f32('t.emb', [4, 3]), view: view('0', 0, [4, 3], [3, 1]) }, // transposed on the way: not the plain copy
    { ...f32('head.w', [4, 3]), view: view('0', 0, [4, 3], [3, 1]) },
    { ...f32('t.again', [4, 3]), view: view('0', 0, [4, 3], [3, 1]) },
    { ...f32('row_1', [1, 3]), view: view('0', 3, [1, 3], [3, 1]) },
    { ...f32('row_1_again', [1, 3]), view: view('0', 3, [1, 3], [1, 1]) }, // the stride of a size-1 axis does not matter
    f32('no_view', [4, 3]),
  ];
  const plan = buildPlan(listing, passThrough, {}, { dtype: 'float16' });
  const summary = plan.outputs.map((o) => (o.kind === 'alias' ? `${o.key}=${o.aliasOf}` : o.key));
  assert.deepEqual(summary, [
    'm.emb',
    'm.first_row',
    'm.flat',
    'm.other_file',
    'm.t.emb',
    'head.w=m.emb',
    'm.t.again=m.t.emb',
    'm.row_1',
    'm.row_1_again=m.row_1',
    'm.no_view',
  ]);
  const alias = plan.outputs[5]!;
  assert.deepEqual([alias.shape, alias.dtype], [[4, 3], 'float16']);
  assert.equal(plan.totalBytes, (12 + 3 + 12 + 12 + 12 + 3 + 12) * 2);
});

test("preferShadow: a variable's moving average is the source where the checkpoint has one, the variable skipped as superseded", () => {
  const shadowArch: Architecture = {
    modelType: 'shadowed',
    summary: 'test',
    buildConfig: () => ({}),
    rules: () => [
      {
        from: 'net/{x*}/weights',
        to: '{x}.weight',
        transforms: [{ op: 'transpose' }],
        preferShadow: '/ExponentialMovingAverage',
      },
      { from: 'net/{x*}/moving_mean', to: '{x}.running_mean' },
    ],
    expectedKeys: () => [
      { key: 'a.weight', shape: [3, 2] },
      { key: 'a.running_mean', shape: [3] },
      { key: 'b.weight', shape: [3, 2] },
    ],
  };
  const plan = buildPlan(
    [
      f32('net/a/weights', [2, 3]),
      f32('net/a/weights/ExponentialMovingAverage', [2, 3]),
      f32('net/a/weights/RMSProp', [2, 3]),
      f32('net/a/moving_mean', [3]),
      f32('net/a/moving_mean/ExponentialMovingAverage', [3]),
      f32('net/b/weights', [2, 3]),
    ],
    shadowArch,
    {},
  );
  const sources = plan.outputs.map((o) => (o.kind === 'tensor' ? o.sources.map((s) => s.name).join('+') : ''));
  assert.deepEqual(sources, ['net/a/weights/ExponentialMovingAverage', 'net/a/moving_mean', 'net/b/weights']);
  assert.deepEqual(
    plan.skipped.map((s) => s.name),
    ['net/a/weights', 'net/a/weights/RMSProp', 'net/a/moving_mean/ExponentialMovingAverage'],
  );
  assert.match(
    plan.skipped[0]?.reason ?? '',
    /^superseded: its shadow \(…\/ExponentialMovingAverage\) is converted instead$/,
  );
});
