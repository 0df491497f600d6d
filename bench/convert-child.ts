/**
 * Child process of the conversion benchmark: runs `tf2torch convert` (the CLI's own command object)
 * with the given arguments, then prints its wall time, CPU time and peak RSS as JSON on the last stdout line.
 */
import { convertCommand } from '../src/commands/convert.js';

const start = performance.now();
const code = await convertCommand.run(process.argv.slice(2), {
  out: () => undefined,
  err: (t) => process.stderr.write(t),
  errIsTTY: false,
});
const ms = performance.now() - start;
const usage = process.resourceUsage();
const cpuMs = (usage.userCPUTime + usage.systemCPUTime) / 1000;
process.stdout.write(`${JSON.stringify({ code, ms, cpuMs, maxRssBytes: usage.maxRSS * 1024 })}\n`);
