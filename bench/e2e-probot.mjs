// The bare Probot peer of bench/e2e: a Probot app, plain JavaScript as its authors would write it,
// no database and no queue. Its write spacing, E2E_PEER_THROTTLE:
//   - `installation` (bench/e2e's default): each installation's writes paced as GitHub documents
//     it, one at a time and at least 1 s apart, new comments within 80 a minute, other
//     installations' writes not held back: a Bottleneck limiter per installation around the
//     requests the app's client sends (its `request.fetch`), Probot's throttling plugin off. (That
//     plugin keyed by installation is not enough: it spaces the writes when they are scheduled,
//     before the installation token is fetched, so two writes reached the stand-in 0.46 s apart;
//     and it spaces new comments 3 s apart, not GitHub's figures.)
//   - `probot`: Probot's defaults as Probot configures them (the event's client, `context.octokit`,
//     carries no throttle id, so one write queue, 1 s apart, and one queue of new comments, 3 s
//     apart, serve all installations);
//   - `off`: no write spacing at all (as bench/memory's peer).
// On every opened issue it makes the writes bench/e2e read from Gatehouse's run, given
// in E2E_PEER_WRITES as JSON: `labels`, one entry per label write (`{ add: [names] }` or
// `{ remove: name }`), then `comments` new comments (the first is the intake comment) and
// `commentEdits` edits of the first: label writes first, then the comments. Prints
// `listening on :<port>` when it listens.
import { createServer } from 'node:http';
import { createNodeMiddleware, Probot, ProbotOctokit } from 'probot';
import { pino } from 'pino';
import Bottleneck from 'bottleneck';

const writes = JSON.parse(process.env.E2E_PEER_WRITES ?? '{"labels":[{"add":["intake"]}],"comments":1,"commentEdits":0}');

const throttle = process.env.E2E_PEER_THROTTLE ?? 'probot';
if (!['installation', 'probot', 'off'].includes(throttle)) throw new Error('E2E_PEER_THROTTLE: installation|probot|off');
// One limiter per installation (Bottleneck groups make one per key): every write sent one at a time
// (until its answer's headers), sends at least 1 s apart; new comments at most 80 a minute.
// Token requests and reads are not paced.
const writeTurns = new Bottleneck.Group({ maxConcurrent: 1, minTime: 1_000 });
const commentTurns = new Bottleneck.Group({ reservoir: 80, reservoirRefreshAmount: 80, reservoirRefreshInterval: 60_000 });
const pacedFetch =
  (installation) =>
  async (url, init = {}) => {
    const method = (init.method ?? 'GET').toUpperCase();
    const path = new URL(url).pathname;
    if (method === 'GET' || method === 'HEAD' || path.endsWith('/access_tokens')) return fetch(url, init);
    if (method === 'POST' && /\/issues\/\d+\/comments$/.test(path)) await commentTurns.key(installation).schedule(async () => undefined);
    return writeTurns.key(installation).schedule(() => fetch(url, init));
  };

const probot = new Probot({
  appId: Number(process.env.APP_ID),
  privateKey: process.env.PRIVATE_KEY,
  secret: process.env.WEBHOOK_SECRET,
  baseUrl: `${process.env.GHE_PROTOCOL ?? 'https'}://${process.env.GHE_HOST}/api/v3`,
  log: pino({ level: process.env.LOG_LEVEL === 'debug' ? 'debug' : 'silent' }),
  // A function, since Probot passes its own throttle options and these must win.
  ...(throttle === 'off'
    ? { Octokit: ProbotOctokit.defaults((options) => ({ ...options, throttle: { ...options.throttle, enabled: false } })) }
    : throttle === 'installation'
      ? {
          Octokit: ProbotOctokit.defaults((options) => ({
            ...options,
            throttle: { ...options.throttle, enabled: false },
            request: { ...options.request, fetch: pacedFetch(String(options.auth?.installationId ?? 'app')) },
          })),
        }
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
