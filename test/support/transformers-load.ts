/**
 * A converted folder as a user loads it in the real transformers: `AutoConfig`, then the class config.json
 * names, with `output_loading_info=True`, from pytorch_model.bin and from model.safetensors (parsed by the
 * spec in Python and passed as `state_dict=`: 4.29.2 has no safetensors package). Everything transformers
 * logs and every Python warning is captured; the loaded parameters are compared with the file's bytes.
 */
import { runTransformers, type TransformersClient } from './transformers.js';

export interface LoadReport {
  readonly format: 'pytorch' | 'safetensors';
  readonly modelClass: string;
  readonly missing: string[];
  readonly unexpected: string[];
  readonly mismatched: string[];
  readonly errors: string[];
  /** Every message transformers logged at WARNING or above, and every Python warning. */
  readonly warnings: string[];
  /** State-dict keys whose loaded values differ from the file's. */
  readonly differing: string[];
}

const SCRIPT = String.raw`
import json, logging, struct, sys, warnings
import torch, transformers
from transformers import AutoConfig

folder, formats = sys.argv[1], sys.argv[2].split(',')
ST = {'F64': torch.float64, 'F32': torch.float32, 'F16': torch.float16, 'BF16': torch.bfloat16,
      'I64': torch.int64, 'I32': torch.int32, 'I16': torch.int16, 'I8': torch.int8, 'U8': torch.uint8,
      'BOOL': torch.bool}

def read_safetensors(path):
    with open(path, 'rb') as f:
        data = f.read()
    (n,) = struct.unpack('<Q', data[:8])
    header = json.loads(data[8:8 + n])
    header.pop('__metadata__', None)
    out = {}
    for name, h in header.items():
        a, b = h['data_offsets']
        raw = bytearray(data[8 + n + a:8 + n + b])
        t = torch.frombuffer(raw, dtype=ST[h['dtype']]) if raw else torch.empty(0, dtype=ST[h['dtype']])
        out[name] = t.reshape(h['shape'])
    return out

class Capture(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []
    def emit(self, record):
        self.messages.append(record.getMessage())

transformers.logging.set_verbosity_warning()
reports = []
for fmt in formats:
    capture = Capture()
    root = transformers.logging.get_logger()
    root.addHandler(capture)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        config = AutoConfig.from_pretrained(folder)
        cls = getattr(transformers, config.architectures[0])
        if fmt == 'safetensors':
            weights = read_safetensors(folder + '/model.safetensors')
            model, info = cls.from_pretrained(folder, state_dict=dict(weights), output_loading_info=True)
        else:
            weights = torch.load(folder + '/pytorch_model.bin', map_location='cpu', weights_only=True)
            model, info = cls.from_pretrained(folder, output_loading_info=True)
    root.removeHandler(capture)
    loaded = model.state_dict()
    # a base model loads the keys of a checkpoint with its head's prefix (rembert.…) without it
    prefix = model.base_model_prefix + '.'
    def as_loaded(k):
        return k[len(prefix):] if k not in loaded and k.startswith(prefix) else k
    differing = [k for k, v in weights.items() if as_loaded(k) not in loaded
                 or loaded[as_loaded(k)].dtype != v.dtype or not torch.equal(loaded[as_loaded(k)], v)]
    reports.append({
        'format': fmt, 'modelClass': cls.__name__,
        'missing': sorted(info['missing_keys']), 'unexpected': sorted(info['unexpected_keys']),
        'mismatched': [str(m) for m in info['mismatched_keys']], 'errors': [str(e) for e in info['error_msgs']],
        'warnings': capture.messages + [f'{w.category.__name__}: {w.message}' for w in caught],
        'differing': differing,
    })
print(json.dumps(reports))
`;

/** Loads `folder` in the real transformers from each weight format it holds. */
export function loadInTransformers(
  client: TransformersClient,
  folder: string,
  formats: readonly ('pytorch' | 'safetensors')[] = ['safetensors', 'pytorch'],
): LoadReport[] {
  return JSON.parse(runTransformers(client, SCRIPT, [folder, formats.join(',')])) as LoadReport[];
}
