/** The transpose thread's entry (convert/transpose-thread.ts): runs each posted job in place, answers its id. */
import { parentPort } from 'node:worker_threads';
import type { JobReply, PostedJob } from './transpose-thread.js';
import { runTransposeJob } from './transposer.js';

parentPort?.on('message', (posted: PostedJob) => {
  let reply: JobReply;
  try {
    runTransposeJob({
      ...posted.job,
      src: new Uint8Array(posted.src.memory, posted.src.offset, posted.src.length),
      dst: new Uint8Array(posted.dst.memory, posted.dst.offset, posted.dst.length),
    });
    reply = { id: posted.id };
  } catch (error) {
    reply = { id: posted.id, error: error instanceof Error ? error.message : String(error) };
  }
  parentPort?.postMessage(reply);
});
