/**
 * Lets the event loop serve what is waiting (HTTP requests, the database thread's replies, timers)
 * before the worker goes on. Processing shares its thread with the HTTP server: a delivery's steps
 * each run for at most tens of milliseconds on hostile but accepted input, and
 * yielding between them keeps the server's answer time to about one step, not one delivery or a
 * queue of them.
 */
import { setImmediate } from 'node:timers/promises';

export const yieldToRequests = (): Promise<void> => setImmediate().then(() => undefined);
