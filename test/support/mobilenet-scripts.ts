/**
 * What transformers' two MobileNet scripts (models/mobilenet_v{1,2}/convert_original_tf_checkpoint_to_pytorch.py)
 * save besides the weights, computed by the real transformers 4.29.2: the script's own `get_mobilenet_v{1,2}_config`
 * (its label download answered with a local file) saved by the model class's save_pretrained, and its image
 * processor's JSON. Without Pillow, a stand-in `PIL` package gives transformers' image_utils the one thing it
 * reads at import (Pillow 9's `Image.Resampling` values), so the real classes run.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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
getattr(transformers, f'MobileNet{V}ForImageClassification')(config).save_pretrained(reference)
processor = getattr(transformers, f'MobileNet{V}ImageProcessor')(
    crop_size={'width': config.image_size, 'height': config.image_size},
    size={'shortest_edge': config.image_size + 32})
loaded = transformers.AutoImageProcessor.from_pretrained(folder)
print(json.dumps({
    'config': open(os.path.join(reference, 'config.json')).read(),
    'processor': processor.to_json_string(),
    'loadedProcessor': type(loaded).__name__,
    'loadedCrop': loaded.crop_size, 'loadedSize': loaded.size,
}))
`;

export interface ScriptOutputs {
  config: string;
  processor: string;
  loadedProcessor: string;
  loadedCrop: unknown;
  loadedSize: unknown;
}

/** The script's config.json and image processor JSON for `modelName` with `labels` as its label file; `folder`'s processor loaded. */
export function scriptOutputs(
  client: TransformersClient,
  version: 'v1' | 'v2',
  modelName: string,
  labels: string,
  scratch: string,
  folder: string,
): ScriptOutputs {
  const stand = join(scratch, 'pil-stand-in');
  if (!existsSync(stand)) {
    mkdirSync(join(stand, 'PIL'), { recursive: true });
    for (const [name, text] of Object.entries(PIL_STAND_IN)) writeFileSync(join(stand, 'PIL', name), text);
  }
  const reference = join(scratch, `reference-${version}-${modelName}`);
  return JSON.parse(
    runTransformers(client, SCRIPT, [version, modelName, labels, reference, folder, stand]),
  ) as ScriptOutputs;
}

/** config.json without its transformers_version line (ours names the version it follows, the client its own). */
export const withoutVersion = (text: string): string => text.replace(/\n {2}"transformers_version": "[^"]*",?/, '');
