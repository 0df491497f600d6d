/**
 * Child process of the conversion benchmark: runs `tf2torch convert` (the CLI's own command object)
 * with the given arguments, then prints its wall time and peak RSS as JSON on the last stdout line.
 */
import { convertCommand } from '../src/commands/convert.js';

const start = performance.now();
const code = await convertCommand.run(process.argv.slice(2), {
  out: () => undefined,
  err: (t) => process.stderr.write(t),
  errIsTTY: false,
});
const ms = performance.now() - start;
process.stdout.write(`${JSON.stringify({ code, ms, maxRssBytes: process.resourceUsage().maxRSS * 1024 })}\n`);
