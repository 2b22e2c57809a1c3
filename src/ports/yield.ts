/**
 * The shell's one turn-taking on its thread, shared by every layer that does heavy steps (adapters
 * reading reports, jobs planning), so it sits with the ports, below all of them.
 *
 * Lets the event loop serve what is waiting (HTTP requests, the database thread's replies, timers)
 * before the worker goes on. Processing shares its thread with the HTTP server: a delivery's heavy
 * steps (reading its payload, parsing a 64 KB body, planning, reading a report slice) each take
 * tens of milliseconds on hostile but accepted input, and each waits here before it runs. One step
 * is not split: JSON.parse of a payload of many megabytes (bench/loop-hold.ts has the figures).
 *
 * One waiter goes on per turn of the event loop. A plain `setImmediate` per waiter would not do:
 * the deliveries being worked on at once (16 by default) would all go on in the same turn, one
 * after another, and the server would wait for the sum of their steps rather than for one of them
 * (test/ports/yield.test.ts).
 */
const waiting: (() => void)[] = [];
let turnScheduled = false;

function nextTurn(): void {
  const go = waiting.shift();
  // Scheduled from this turn's immediates, the next one runs on the next turn, after the loop has
  // run its timers and read what arrived (poll).
  if (waiting.length > 0) setImmediate(nextTurn);
  else turnScheduled = false;
  go?.();
}

export function yieldToRequests(): Promise<void> {
  return new Promise((resolve) => {
    waiting.push(resolve);
    if (!turnScheduled) {
      turnScheduled = true;
      setImmediate(nextTurn);
    }
  });
}
