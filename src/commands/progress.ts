/**
 * A one-line progress bar for stderr when it is a terminal: bytes written, rate and ETA, redrawn at
 * most a few times a second.
 */
import { formatBytes } from '../units.js';

const REDRAW_MS = 200;
const WIDTH = 30;

function duration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

export interface ProgressBar {
  update(done: number): void;
  finish(): void;
}

export function progressBar(
  total: number,
  write: (text: string) => void,
  now: () => number = Date.now,
  /** More to show after the bar (a remote checkpoint's bytes fetched against those needed). */
  extra?: () => string,
): ProgressBar {
  const start = now();
  let last = 0;
  let done = 0;
  const draw = () => {
    const fraction = total > 0 ? Math.min(1, done / total) : 1;
    const elapsed = (now() - start) / 1000;
    const rate = elapsed > 0 ? done / elapsed : 0;
    const eta = rate > 0 ? (total - done) / rate : NaN;
    const filled = Math.round(fraction * WIDTH);
    const bar = `${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}`;
    write(
      `\r[${bar}] ${(fraction * 100).toFixed(0).padStart(3)}% ${formatBytes(done)}/${formatBytes(total)} ${formatBytes(rate)}/s ETA ${duration(eta)}${extra === undefined ? '' : ` ${extra()}`}  `,
    );
  };
  return {
    update(n) {
      done = n;
      const t = now();
      if (t - last >= REDRAW_MS) {
        last = t;
        draw();
      }
    },
    finish() {
      done = total;
      draw();
      write('\n');
    },
  };
}
