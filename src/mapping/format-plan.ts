/**
 * formatPlan(): the plan as stable, readable text — what `--dry-run` prints and what golden files hold.
 * No paths, no timings: the same checkpoint listing always gives the same text.
 */

import type { Transform } from '../kernels/transforms.js';
import { formatBytes } from '../units.js';
import type { Plan, PlanOutput } from './plan.js';
import type { GeneratedValues } from './types.js';

const fmt = (shape: readonly number[]) => `[${shape.join(', ')}]`;

function describeGenerator(g: GeneratedValues): string {
  switch (g.kind) {
    case 'identity':
      return `identity(${g.size})`;
    case 'inv-freq':
      return `inv_freq(d_model=${g.dModel})`;
    case 'fill':
      return `fill(${g.value})`;
    case 'arange':
      return `arange(${g.count})`;
    case 'causal-mask':
      return `causal_mask(${g.size})`;
    case 'sinusoidal-positions':
      return `sinusoidal_positions(${g.positions}, ${g.dim})`;
  }
}

function describeOutput(o: PlanOutput): string {
  const head = `${o.key} ${fmt(o.shape)} ${o.dtype}`;
  switch (o.kind) {
    case 'alias':
      return `${head}\n      = ${o.aliasOf} (tied: same storage)`;
    case 'generated':
      return `${head}\n      generated: ${describeGenerator(o.generator)}`;
    case 'tensor': {
      const from = o.sources.map((s) => `${s.name} ${fmt(s.shape)} ${s.dtype}`).join(' + ');
      const ops = o.transforms.length > 0 ? ` | ${o.transforms.map(describeTransform).join(' | ')}` : '';
      const note = o.note ? `  # ${o.note}` : '';
      return `${head}\n      <- ${from}${ops}${note}`;
    }
  }
}

export function formatPlan(plan: Plan): string {
  const converted = new Set(plan.outputs.flatMap((o) => (o.kind === 'tensor' ? o.sources.map((s) => s.name) : [])));
  const aliases = plan.outputs.filter((o) => o.kind === 'alias').length;
  const generated = plan.outputs.filter((o) => o.kind === 'generated').length;
  const lines = [
    `model_type: ${plan.modelType}${plan.modelClass ? ` (${plan.modelClass})` : ''}`,
    `checkpoint: ${plan.variableCount} variables: ${converted.size} converted, ${plan.skipped.length} skipped, ${plan.unmapped.length} unmapped`,
    `output: ${plan.outputs.length} keys (${aliases} tied aliases, ${generated} generated), ${formatBytes(plan.totalBytes)} (${plan.totalBytes} bytes)`,
    '',
    `outputs (${plan.outputs.length}, state_dict order):`,
    ...plan.outputs.map((o) => `  ${describeOutput(o)}`),
    '',
    `skipped (${plan.skipped.length}):`,
    ...plan.skipped.map((s) => `  ${s.name}: ${s.reason}`),
    '',
    `not in the checkpoint, written as zeros as the original initialises them (${plan.zeroFilled.length}):`,
    ...plan.zeroFilled.map((m) => `  ${m.key} ${fmt(m.shape)}`),
    '',
    `left for from_pretrained to initialise (${plan.missing.length}):`,
    ...plan.missing.map((m) => `  ${m.key} ${fmt(m.shape)}`),
    '',
    `unmapped, left out with --skip-unknown (${plan.unmapped.length}):`,
    ...plan.unmapped.map((u) => `  ${u.name} ${fmt(u.shape)} ${u.dtype}`),
  ];
  if (plan.warnings.length > 0) lines.push('', 'warnings:', ...plan.warnings.map((w) => `  ${w}`));
  return `${lines.join('\n')}\n`;
}

/** `transpose`, `select(axis=0, index=3)`, `cast(float16)`: how plans print transforms. */
export function describeTransform(t: Transform): string {
  switch (t.op) {
    case 'transpose':
      return t.axes ? `transpose(${t.axes.join(',')})` : 'transpose';
    case 'squeeze':
      return t.axis === undefined ? 'squeeze' : `squeeze(${t.axis})`;
    case 'select':
      return `select(axis=${t.axis}, index=${t.index})`;
    case 'slice':
      return `slice(axis=${t.axis}, ${t.start}:${t.end})`;
    case 'reshape':
      return `reshape[${t.shape.join(', ')}]`;
    case 'concat':
      return `concat(axis=${t.axis})`;
    case 'cast':
      return `cast(${t.dtype})`;
    case 'zero':
      return `zero(axis=${t.axis}, index=${t.index})`;
  }
}
