// A delivery worker process that takes a job and never finishes it, for the test that kills a
// worker with SIGKILL mid-job (test/integration/bullmq-queue.test.ts). Run with tsx:
//   node --import tsx test/support/bullmq-stuck-worker.ts <redisUrl> <queueName> <lockDurationMs>
// Prints "started <outboxId>" when its handler has the job.
import { BullmqQueue } from '../../src/jobs/queue/bullmq-queue.js';

const [redisUrl, queueName, lockDurationMs] = process.argv.slice(2);
const queue = new BullmqQueue(redisUrl, queueName, { lockDurationMs: Number(lockDurationMs) });
queue.consume(async (job) => {
  process.stdout.write(`started ${job.outboxId}\n`);
  await new Promise(() => undefined); // hangs until killed
}, 1);
