/**
 * `npm run bench`: each section measures one path on synthesized full-size data and prints its
 * figures against its targets. Work files go to TF2TORCH_BENCH_DIR (default bench/out/, gitignored).
 */
import { join } from 'node:path';
import { benchConvertBert } from './convert-bert.js';
import { benchConvertBertHttp } from './convert-bert-http.js';
import { benchConvertGptNeo } from './convert-gpt-neo.js';
import { benchConvertNarrow } from './convert-narrow.js';
import { benchConvertT5Xl } from './convert-t5-xl.js';
import { benchWrite } from './write.js';

const WORK_DIR = process.env.TF2TORCH_BENCH_DIR ?? join(process.cwd(), 'bench', 'out');
const log = (line: string) => process.stdout.write(`${line}\n`);

interface BenchSection {
  readonly name: string;
  run(): Promise<unknown>;
}

const SECTIONS: BenchSection[] = [
  { name: 'convert-bert', run: () => benchConvertBert(join(WORK_DIR, 'convert-bert'), log) },
  { name: 'convert-narrow', run: () => benchConvertNarrow(join(WORK_DIR, 'convert-narrow'), log) },
  {
    name: 'convert-bert-http',
    run: () => benchConvertBertHttp(join(WORK_DIR, 'convert-bert'), join(WORK_DIR, 'convert-bert-http'), log),
  },
  { name: 'convert-t5-xl', run: () => benchConvertT5Xl(join(WORK_DIR, 'convert-t5-xl'), log) },
  { name: 'convert-gpt-neo', run: () => benchConvertGptNeo(join(WORK_DIR, 'convert-gpt-neo'), log) },
  { name: 'write', run: () => benchWrite(join(WORK_DIR, 'write'), log) },
];

const only = process.argv[2];
for (const section of SECTIONS) {
  if (only !== undefined && section.name !== only) continue;
  log(`== ${section.name}`);
  await section.run();
}
