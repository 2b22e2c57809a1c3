// The bare Probot peer of bench/e2e: a Probot app, plain JavaScript as its authors would write it,
// with Probot's defaults (its own throttling settings as Probot configures them: the event's
// client, `context.octokit`, carries no throttle id, so one write queue, 1 s apart, and one queue
// of new comments, 3 s apart, serve all installations), no database and no queue. On every opened issue it makes the writes bench/e2e read from Gatehouse's run, given
// in E2E_PEER_WRITES as JSON: `labels`, one entry per label write (`{ add: [names] }` or
// `{ remove: name }`), then `comments` new comments (the first is the intake comment) and
// `commentEdits` edits of the first. Prints `listening on :<port>` when it listens.
import { createServer } from 'node:http';
import { createNodeMiddleware, Probot, ProbotOctokit } from 'probot';
import { pino } from 'pino';

const writes = JSON.parse(process.env.E2E_PEER_WRITES ?? '{"labels":[{"add":["intake"]}],"comments":1,"commentEdits":0}');

const probot = new Probot({
  appId: Number(process.env.APP_ID),
  privateKey: process.env.PRIVATE_KEY,
  secret: process.env.WEBHOOK_SECRET,
  baseUrl: `${process.env.GHE_PROTOCOL ?? 'https'}://${process.env.GHE_HOST}/api/v3`,
  log: pino({ level: process.env.LOG_LEVEL === 'debug' ? 'debug' : 'silent' }),
  // E2E_PEER_THROTTLE=off: no write spacing at all (as bench/memory's peer); a function, since
  // Probot passes its own throttle options and these must win.
  ...(process.env.E2E_PEER_THROTTLE === 'off'
    ? { Octokit: ProbotOctokit.defaults((options) => ({ ...options, throttle: { ...options.throttle, enabled: false } })) }
    : {}),
});
const middleware = await createNodeMiddleware(
  (app) => {
    app.on('issues.opened', async (context) => {
      for (const w of writes.labels) {
        if (w.add) await context.octokit.rest.issues.addLabels(context.issue({ labels: w.add }));
        else await context.octokit.rest.issues.removeLabel(context.issue({ name: w.remove }));
      }
      let first;
      for (let i = 0; i < writes.comments; i++) {
        const body = i === 0 ? '<!-- gatehouse:intake --> received' : `<!-- bench:comment-${i} --> more`;
        const { data } = await context.octokit.rest.issues.createComment(context.issue({ body }));
        first ??= data.id;
      }
      for (let i = 0; i < writes.commentEdits && first !== undefined; i++) {
        await context.octokit.rest.issues.updateComment(
          context.repo({ comment_id: first, body: `<!-- gatehouse:intake --> edit ${i + 1}` }),
        );
      }
    });
  },
  { probot, webhooksPath: '/api/github/webhooks' },
);
const server = createServer((req, res) => {
  void middleware(req, res, () => res.writeHead(404).end());
});
server.listen(0, '127.0.0.1', () => console.log(`listening on :${server.address().port}`));
