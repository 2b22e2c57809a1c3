/** `/metrics` on a listener of its own (METRICS_PORT): the public port with the webhooks answers 404 for it. */
import { describe, expect, it } from 'vitest';
import { startGatehouse } from '../../src/main.ts';
import { testConfig } from '../support/harness.ts';
import { freshDataDir } from '../storage/fixture.ts';

describe('/metrics', () => {
  it('is served on the main port by default', async () => {
    const g = await startGatehouse({ config: testConfig({ dataDir: await freshDataDir() }), clockTickMs: 0 });
    try {
      expect(g.metricsUrl).toBeNull();
      const res = await fetch(`${g.url}/metrics`);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('gatehouse_queue_depth');
    } finally {
      await g.close();
    }
  });

  it('with a metrics listener, answers only there: 404 on the main port, 404 for anything else on the metrics port', async () => {
    const g = await startGatehouse({
      config: { ...testConfig({ dataDir: await freshDataDir() }), metrics: { port: 0, host: '127.0.0.1' } },
      clockTickMs: 0,
    });
    try {
      expect(g.metricsUrl).not.toBeNull();
      expect(g.metricsUrl).not.toBe(g.url);
      const main = await fetch(`${g.url}/metrics`);
      expect(main.status).toBe(404);
      expect(await main.text()).not.toContain('gatehouse_');
      const scraped = await fetch(`${g.metricsUrl}/metrics`);
      expect(scraped.status).toBe(200);
      expect(scraped.headers.get('content-type')).toMatch(/^text\/plain/);
      expect(await scraped.text()).toContain('gatehouse_queue_depth');
      // The webhooks and the page are not on the metrics listener.
      expect((await fetch(`${g.metricsUrl}/healthz`)).status).toBe(404);
      expect((await fetch(`${g.metricsUrl}/api/github/webhooks`, { method: 'POST', body: '{}' })).status).toBe(404);
      // The main port still serves the rest.
      expect((await fetch(`${g.url}/healthz`)).status).toBe(200);
    } finally {
      await g.close();
    }
    // Both listeners are closed.
    await expect(fetch(`${g.metricsUrl}/metrics`)).rejects.toThrow();
  });
});
