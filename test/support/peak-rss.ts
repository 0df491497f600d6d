/**
 * Loaded with `node --import` into a CLI child: at exit, writes the process's peak RSS in bytes
 * (`process.resourceUsage().maxRSS`, KiB on every platform) to the file named by TF2TORCH_PEAK_RSS_FILE.
 */
import { writeFileSync } from 'node:fs';

const target = process.env.TF2TORCH_PEAK_RSS_FILE;
if (target !== undefined) {
  process.on('exit', () => {
    writeFileSync(target, String(process.resourceUsage().maxRSS * 1024));
  });
}
