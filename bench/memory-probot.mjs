// The bare Probot peer of bench/memory: a Probot app, plain JavaScript as its authors would write
// it, that labels every opened issue and comments on it (the writes Gatehouse's intake makes),
// with no database and no queue. Prints `READY <url> <pid>` when it listens, as Gatehouse's bench child does.
import { createServer } from 'node:http';
import { createNodeMiddleware, Probot, ProbotOctokit } from 'probot';
import { pino } from 'pino';

const probot = new Probot({
  appId: Number(process.env.APP_ID),
  privateKey: process.env.PRIVATE_KEY,
  secret: process.env.WEBHOOK_SECRET,
  baseUrl: `${process.env.GHE_PROTOCOL ?? 'https'}://${process.env.GHE_HOST}/api/v3`,
  log: pino({ level: process.env.LOG_LEVEL === 'debug' ? 'debug' : 'silent' }),
  // As Gatehouse's side of the bench: the fake does not rate-limit, so no write spacing.
  // (a function: Probot passes its own throttle options, and these must win).
  Octokit: ProbotOctokit.defaults((options) => ({ ...options, throttle: { ...options.throttle, enabled: false } })),
});
const middleware = await createNodeMiddleware(
  (app) => {
    app.on('issues.opened', async (context) => {
      await context.octokit.rest.issues.addLabels(context.issue({ labels: ['intake', 'tier::advisory'] }));
      await context.octokit.rest.issues.createComment(context.issue({ body: '<!-- gatehouse:intake --> received' }));
    });
  },
  { probot, webhooksPath: '/api/github/webhooks' },
);
const server = createServer((req, res) => {
  void middleware(req, res, () => res.writeHead(404).end());
});
server.listen(0, '127.0.0.1', () => console.log(`READY http://127.0.0.1:${server.address().port} ${process.pid}`));
