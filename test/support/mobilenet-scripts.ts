/**
 * What transformers' two MobileNet scripts (models/mobilenet_v{1,2}/convert_original_tf_checkpoint_to_pytorch.py)
 * save besides the weights, computed by the real transformers 4.29.2: the script's own `get_mobilenet_v{1,2}_config`
 * (its label download answered with a local file) saved by the model class's save_pretrained, and its image
 * processor's JSON; and, given the checkpoint's tensors, the state dict its own load_tf_weights_in_mobilenet_v{1,2}
 * loads (through a stand-in for `tf.train.list_variables`/`load_variable`), compared with a converted folder's. Without Pillow, a stand-in `PIL` package gives transformers' image_utils the one thing it
 * reads at import (Pillow 9's `Image.Resampling` values), so the real classes run.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RawTensor } from './reference-transforms.js';
import { runTransformers, type TransformersClient } from './transformers.js';

const PIL_STAND_IN = {
  '__init__.py': '__version__ = "9.4.0"\n',
  'Image.py':
    'import enum\nclass Resampling(enum.IntEnum):\n    NEAREST = 0\n    LANCZOS = 1\n    BILINEAR = 2\n    BICUBIC = 3\n    BOX = 4\n    HAMMING = 5\nclass Image:\n    pass\n',
  'ImageOps.py': '',
};

const SCRIPT = String.raw`
import importlib, json, os, sys
try:
    import PIL
except ImportError:
    sys.path.append(sys.argv[6])
import transformers
version, model_name, labels, reference, folder = sys.argv[1:6]
script = importlib.import_module(f'transformers.models.mobilenet_{version}.convert_original_tf_checkpoint_to_pytorch')
script.hf_hub_download = lambda repo_id, filename, repo_type=None: labels
config = getattr(script, f'get_mobilenet_{version}_config')(model_name)
V = version.upper()
model = getattr(transformers, f'MobileNet{V}ForImageClassification')(config).eval()
model.save_pretrained(reference)
differing = None
if sys.argv[7]:
    # the script's own loader on the checkpoint's tensors, through a stand-in for the two tf.train calls it makes
    import types, numpy as np, torch
    index = json.load(open(sys.argv[7] + '.json'))
    data = open(sys.argv[7], 'rb').read()
    arrays = {e['name']: np.frombuffer(data, dtype=e['dtype'], count=int(np.prod(e['shape'], dtype=np.int64)),
                                       offset=e['offset']).reshape(e['shape']).copy() for e in index}
    sys.modules['tensorflow'] = types.SimpleNamespace(train=types.SimpleNamespace(
        list_variables=lambda path: [(e['name'], e['shape']) for e in index],
        load_variable=lambda path, name: arrays[name]))
    getattr(transformers, f'load_tf_weights_in_mobilenet_{version}')(model, config, 'checkpoint')
    expected = model.state_dict()
    ours = torch.load(os.path.join(folder, 'pytorch_model.bin'), map_location='cpu', weights_only=True)
    differing = [k for k in expected if k not in ours or ours[k].dtype != expected[k].dtype
                 or ours[k].shape != expected[k].shape or ours[k].stride() != expected[k].stride()
                 or not torch.equal(ours[k], expected[k])]
    differing += [k for k in ours if k not in expected]
    if list(ours) != list(expected) and not differing:
        differing = ['(key order)']
processor = getattr(transformers, f'MobileNet{V}ImageProcessor')(
    crop_size={'width': config.image_size, 'height': config.image_size},
    size={'shortest_edge': config.image_size + 32})
loaded = transformers.AutoImageProcessor.from_pretrained(folder)
print(json.dumps({
    'config': open(os.path.join(reference, 'config.json')).read(),
    'processor': processor.to_json_string(),
    'loadedProcessor': type(loaded).__name__,
    'loadedCrop': loaded.crop_size, 'loadedSize': loaded.size,
    'differing': differing,
}))
`;

export interface ScriptOutputs {
  config: string;
  processor: string;
  loadedProcessor: string;
  loadedCrop: unknown;
  loadedSize: unknown;
  /** With `tensors`: the keys of `folder`'s pytorch_model.bin that differ (values, dtype, shape, strides) from the script's. */
  differing: string[] | null;
}

/**
 * The checkpoint's float32 tensors in one file (`path`) and its index (`path.json`: name, dtype, shape, offset), for
 * the script's loader to read through a stand-in `tensorflow`.
 */
export function writeTensorsForPython(path: string, tensors: ReadonlyMap<string, RawTensor>): void {
  const index: { name: string; dtype: string; shape: number[]; offset: number }[] = [];
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    if (t.dtype !== 'float32') continue; // global_step: the loader never reads it
    index.push({ name, dtype: '<f4', shape: t.shape, offset });
    parts.push(t.bytes);
    offset += t.bytes.length;
  }
  writeFileSync(path, Buffer.concat(parts));
  writeFileSync(`${path}.json`, JSON.stringify(index));
}

/** The script's config.json and image processor JSON for `modelName` with `labels` as its label file; `folder`'s processor loaded. */
export function scriptOutputs(
  client: TransformersClient,
  version: 'v1' | 'v2',
  modelName: string,
  labels: string,
  scratch: string,
  folder: string,
  tensors = '',
): ScriptOutputs {
  const stand = join(scratch, 'pil-stand-in');
  if (!existsSync(stand)) {
    mkdirSync(join(stand, 'PIL'), { recursive: true });
    for (const [name, text] of Object.entries(PIL_STAND_IN)) writeFileSync(join(stand, 'PIL', name), text);
  }
  const reference = join(scratch, `reference-${version}-${modelName}`);
  return JSON.parse(
    runTransformers(client, SCRIPT, [version, modelName, labels, reference, folder, stand, tensors]),
  ) as ScriptOutputs;
}

/** config.json without its transformers_version line (ours names the version it follows, the client its own). */
export const withoutVersion = (text: string): string => text.replace(/\n {2}"transformers_version": "[^"]*",?/, '');
