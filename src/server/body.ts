/** Reading a request body with a size limit, shared by the platform ingresses. */
import type { IncomingMessage } from 'node:http';

/** The body passed the limit; the caller answers 413 and closes the connection. */
export class BodyTooLarge extends Error {
  constructor(readonly max: number) {
    super(`body larger than ${max} bytes`);
  }
}

/** Reads the body, stopping (and refusing) as soon as it passes `max` bytes, chunked or not. */
export function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > max) {
        req.off('data', onData);
        req.pause();
        reject(new BodyTooLarge(max));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)));
    req.once('error', reject);
  });
}
