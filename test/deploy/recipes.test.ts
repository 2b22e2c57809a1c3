/**
 * The deployment recipes: Dockerfile, compose.yaml and deploy/kubernetes/. Each is checked by a
 * linter or schema validator from the npm registry (dockerfile-utils, dclint with the Compose
 * Specification schema, kubernetes-models' OpenAPI validators; devDependencies, so `npm ci` in CI
 * installs them) and by what Gatehouse itself needs of it: the probes and the image's health check
 * hit routes the real HTTP server serves, the example Secret is a configuration Gatehouse accepts,
 * the image runs Node with `npm start`'s options and the Node version CI tests.
 *
 * The image itself is built and run only where a container engine answers (a docker daemon or
 * podman); elsewhere the files of its runtime stage are started as the image would start them, and
 * the health check's command is run by Node.
 */
import { execFile, spawn } from 'node:child_process';
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import picomatch from 'picomatch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { loadConfig } from '../../src/config/env.ts';
import { testPrivateKey } from '../support/github.ts';
import { createHttpServer } from '../../src/server/http.ts';
import { createMetrics } from '../../src/server/metrics.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (path: string): string => readFileSync(join(root, path), 'utf8');
const requireHere = createRequire(import.meta.url);

/** A devDependency's module, or null (with a visible message) when it is not installed here. */
async function optional<T>(specifier: string): Promise<T | null> {
  try {
    return (await import(specifier)) as T;
  } catch {
    console.warn(`SKIPPED part of test/deploy/recipes.test.ts: ${specifier} is not installed (it is a devDependency: npm ci installs it)`);
    return null;
  }
}
function packageDir(name: string): string | null {
  try {
    return dirname(requireHere.resolve(`${name}/package.json`));
  } catch {
    console.warn(`SKIPPED part of test/deploy/recipes.test.ts: ${name} is not installed (it is a devDependency: npm ci installs it)`);
    return null;
  }
}

interface Diagnostic {
  message: string;
  range: { start: { line: number } };
}
interface DockerfileUtils {
  validate(content: string): Diagnostic[];
}
interface K8sModel {
  validate(): void;
}
type K8sModelClass = new (data: unknown) => K8sModel;

const dockerfileUtils = await optional<DockerfileUtils>('dockerfile-utils');
const dclintDir = packageDir('dclint');
const k8s = {
  Deployment: (await optional<{ Deployment: K8sModelClass }>('kubernetes-models/apps/v1/Deployment'))?.Deployment,
  Service: (await optional<{ Service: K8sModelClass }>('kubernetes-models/v1/Service'))?.Service,
  Secret: (await optional<{ Secret: K8sModelClass }>('kubernetes-models/v1/Secret'))?.Secret,
  PodDisruptionBudget: (await optional<{ PodDisruptionBudget: K8sModelClass }>('kubernetes-models/policy/v1/PodDisruptionBudget'))
    ?.PodDisruptionBudget,
};
const k8sInstalled = Object.values(k8s).every((c) => c !== undefined);

/** A container engine that answers (a docker client with its daemon, or podman), or null. */
async function containerEngine(): Promise<string | null> {
  for (const engine of ['docker', 'podman']) {
    const probe = await new Promise<boolean>((resolve) => execFile(engine, ['info'], { timeout: 15_000 }, (err) => resolve(!err)));
    if (probe) return engine;
  }
  console.warn(
    'SKIPPED the image build in test/deploy/recipes.test.ts: no container engine here (no docker daemon, no podman); the Dockerfile is linted and the files of its runtime stage are started without one',
  );
  return null;
}
const engine = await containerEngine();

// ---- the Dockerfile, as instructions --------------------------------------------------------

interface Instruction {
  keyword: string;
  args: string;
  stage: number;
}

/** Instructions with continuation lines joined and comments dropped; `stage` counts FROMs (0-based). */
function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let stage = -1;
  const logical = text.replace(/\\\n(\s*#.*\n)*/g, ' ').split('\n');
  for (const line of logical) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const [, keyword = '', args = ''] = /^(\S+)\s*(.*)$/.exec(trimmed) ?? [];
    if (keyword.toUpperCase() === 'FROM') stage += 1;
    out.push({ keyword: keyword.toUpperCase(), args: args.trim(), stage });
  }
  return out;
}

const dockerfile = read('Dockerfile');
const steps = instructions(dockerfile);
const lastStage = Math.max(...steps.map((s) => s.stage));
const runtime = steps.filter((s) => s.stage === lastStage);
const one = (keyword: string, from: Instruction[] = runtime): Instruction => {
  const found = from.filter((s) => s.keyword === keyword);
  expect(found, `exactly one ${keyword}`).toHaveLength(1);
  return found[0]!;
};
const jsonArgs = (step: Instruction): string[] => JSON.parse(step.args) as string[];
const nodeVersion = /^ARG NODE_VERSION=(\d+\.\d+\.\d+)$/m.exec(dockerfile)?.[1];

/** The script of the image's HEALTHCHECK (`node -e <script>`). */
function healthcheckScript(): string {
  const step = one('HEALTHCHECK');
  const cmd = /\bCMD\s+(\[.*\])$/.exec(step.args)?.[1];
  expect(cmd, 'HEALTHCHECK … CMD ["node", "-e", …]').toBeDefined();
  const [program, flag, script] = JSON.parse(cmd!) as string[];
  expect([program, flag]).toEqual(['node', '-e']);
  return script!;
}

// ---- a real HTTP server for the probes ------------------------------------------------------

let ready = false;
const server = createHttpServer({
  github: { off: 'GitHub is off' },
  gitlab: { off: 'GitLab is off' },
  slack: { off: 'Slack is off' },
  ready: () => ready,
  metrics: createMetrics(),
  onError: (err) => {
    throw err;
  },
});
let port = 0;
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
const status = async (path: string): Promise<number> => (await fetch(`http://127.0.0.1:${port}${path}`)).status;

function run(file: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd: root, env: { ...process.env, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

describe('Dockerfile', () => {
  it.skipIf(!dockerfileUtils)('passes dockerfile-utils validation, which flags a broken one', () => {
    const problems = dockerfileUtils!.validate(dockerfile).map((d) => `line ${d.range.start.line + 1}: ${d.message}`);
    expect(problems).toEqual([]);
    const broken = dockerfile.replace('--interval=30s', '--interval=30').replace('EXPOSE 3000', 'EXPOSE 3000/tcpx');
    expect(dockerfileUtils!.validate(broken).map((d) => d.message)).toEqual(
      expect.arrayContaining([expect.stringMatching(/missing unit/), expect.stringMatching(/Invalid proto/)]),
    );
  });

  it('builds in stages: production packages with npm ci --omit=dev, the database template made and readable', () => {
    expect(lastStage).toBeGreaterThanOrEqual(1);
    // The build stage's full install (TypeScript, to emit dist/) ships nothing but dist/.
    const install = steps.filter(
      (s) => s.stage < lastStage && s.keyword === 'RUN' && s.args.includes('npm ci') && !s.args.includes('npm run -s build'),
    );
    expect(runtime.some((s) => s.keyword === 'COPY' && /^--from=\S+ \/app\/dist \.\/dist$/.test(s.args))).toBe(true);
    expect(install).toHaveLength(1);
    expect(install[0]!.args).toMatch(/npm ci --omit=dev\b/);
    // the postinstall script and what it imports are in the build context before npm ci
    const postinstall = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts['postinstall'];
    expect(postinstall).toBe('node scripts/pglite-template.mjs');
    const copied = steps.filter((s) => s.stage < lastStage && s.keyword === 'COPY').map((s) => s.args);
    expect(copied).toEqual(
      expect.arrayContaining(['scripts/pglite-template.mjs scripts/', 'src/storage/pglite-template.mjs src/storage/']),
    );
    expect(install[0]!.args).toMatch(/chmod -R a\+rX node_modules\/\.cache\/gatehouse/);
    expect(runtime.some((s) => s.keyword === 'COPY' && /^--from=\S+ \/app\/node_modules \.\/node_modules$/.test(s.args))).toBe(true);
  });

  it('uses a pinned Node LTS base, the version CI also runs the tests on', () => {
    expect(nodeVersion).toMatch(/^(22|24)\./);
    for (const from of steps.filter((s) => s.keyword === 'FROM')) expect(from.args).toMatch(/^node:\$\{NODE_VERSION\}-bookworm-slim\b/);
    const engines = (JSON.parse(read('package.json')) as { engines: { node: string } }).engines.node;
    expect(engines.split('||').map((r) => r.trim())).toContain(`^${nodeVersion!.split('.')[0]!}`);
    expect(read('.ci/run')).toMatch(new RegExp(`^NODE24_VERSION=${nodeVersion!.replace(/\./g, '\\.')}$`, 'm'));
  });

  it('runs as a numeric non-root user, with the data directory on a volume and the same Node options as npm start', () => {
    const [uid, gid] = one('USER').args.split(':').map(Number);
    expect(uid).toBeGreaterThan(0);
    expect(gid).toBeGreaterThan(0);
    expect(runtime.find((s) => s.keyword === 'ENV')?.args).toMatch(/GATEHOUSE_DATA_DIR=\/data\b/);
    expect(jsonArgs(one('VOLUME'))).toEqual(['/data']);
    expect(runtime.some((s) => s.keyword === 'RUN' && s.args.includes(`chown ${uid}:${gid} /data`))).toBe(true);
    expect(one('EXPOSE').args).toBe('3000');
    expect(one('STOPSIGNAL').args).toBe('SIGTERM');
    // npm start's command, its environment assignments (the C allocator's) set by ENV instead.
    const start = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts['start']!;
    const assignments = /^(?:[A-Z_]+=\S+ )*/.exec(start)![0];
    expect([...jsonArgs(one('ENTRYPOINT')), ...jsonArgs(one('CMD'))].join(' ')).toBe(start.slice(assignments.length));
    const env = runtime.find((s) => s.keyword === 'ENV')!.args;
    for (const kv of assignments.split(' ').filter(Boolean)) expect(env.split(/\s+/)).toContain(kv);
  });

  it('copies every file the process reads at run time, and .dockerignore keeps none of them out but keeps secrets out', () => {
    const sources = runtime
      .filter((s) => s.keyword === 'COPY' && !s.args.startsWith('--from'))
      .flatMap((s) => s.args.split(/\s+/).slice(0, -1));
    for (const needed of ['package.json', 'tsconfig.json', 'bin', 'src', 'templates']) expect(sources).toContain(needed);
    const patterns = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    const excluded = picomatch(
      patterns.filter((p) => !p.startsWith('!')).flatMap((p) => [p.replace(/\/$/, ''), `${p.replace(/\/$/, '')}/**`]),
      { dot: true },
    );
    const buildSources = steps
      .filter((s) => s.keyword === 'COPY' && !s.args.startsWith('--from'))
      .flatMap((s) => s.args.split(/\s+/).slice(0, -1));
    for (const source of buildSources) {
      expect(existsSync(join(root, source)), source).toBe(true);
      expect(excluded(source), `${source} is in .dockerignore`).toBe(false);
    }
    for (const secret of ['.env', '.env.production', 'data', 'node_modules', 'key.pem']) expect(excluded(secret), secret).toBe(true);
  });

  it('the files of the runtime stage start Gatehouse and turn healthy, writing only to the temporary and data directories', async () => {
    // The image's /app, laid out from the runtime stage's COPY lines; node_modules is this checkout's.
    const work = mkdtempSync(join(tmpdir(), 'gatehouse-image-'));
    const app = join(work, 'app');
    mkdirSync(app);
    const sources = runtime
      .filter((s) => s.keyword === 'COPY' && !s.args.startsWith('--from'))
      .flatMap((s) => s.args.split(/\s+/).slice(0, -1));
    for (const source of sources) cpSync(join(root, source), join(app, source), { recursive: true });
    symlinkSync(join(root, 'node_modules'), join(app, 'node_modules'));
    const past = new Date('2020-01-01T00:00:00Z');
    const dirs = (dir: string): string[] => [
      dir,
      ...readdirSync(dir)
        .map((n) => join(dir, n))
        .filter((p) => lstatSync(p).isDirectory())
        .flatMap(dirs),
    ];
    for (const dir of dirs(app)) utimesSync(dir, past, past);
    mkdirSync(join(work, 'tmp'));
    const [program, ...args] = [...jsonArgs(one('ENTRYPOINT')), ...jsonArgs(one('CMD'))];
    expect(program).toBe('node');
    const env = {
      PATH: process.env['PATH'] ?? '',
      HOME: join(work, 'no-home'),
      TMPDIR: join(work, 'tmp'),
      GATEHOUSE_DATA_DIR: join(work, 'data'),
      PORT: '0',
      LOG_LEVEL: 'info' as const,
    };
    const child = spawn(process.execPath, args, { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr.on('data', (b: Buffer) => (output += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      let listening: number | undefined;
      for (let i = 0; i < 240 && listening === undefined; i += 1) {
        await new Promise((r) => setTimeout(r, 250));
        listening = Number(/"port":(\d+)[^\n]*gatehouse listening/.exec(output)?.[1]) || undefined;
        expect(child.exitCode, output).toBeNull();
      }
      expect(listening, output).toBeDefined();
      let healthy = 1;
      for (let i = 0; i < 60 && healthy !== 0; i += 1)
        healthy = (await run(process.execPath, ['-e', healthcheckScript()], { PORT: String(listening) })).code;
      expect(healthy, output).toBe(0);
      child.kill('SIGTERM');
      expect(await exited, output).toBe(0);
      expect(
        dirs(app).filter((dir) => lstatSync(dir).mtimeMs !== past.getTime()),
        'written under /app',
      ).toEqual([]);
      expect(existsSync(env.HOME), 'wrote to HOME').toBe(false);
      // tsx's transpile cache fits the 64 MiB tmpfs of compose.yaml and the Deployment
      const du = (dir: string): number =>
        readdirSync(dir).reduce((n, name) => {
          const st = lstatSync(join(dir, name));
          return n + (st.isDirectory() ? du(join(dir, name)) : st.size);
        }, 0);
      expect(du(env.TMPDIR)).toBeLessThan(64 * 1024 * 1024);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(work, { recursive: true, force: true });
    }
  }, 120_000);

  it.skipIf(!engine)(
    'the image builds, and runs read-only as its own user until healthy, then stops on SIGTERM with exit 0',
    async () => {
      const tag = `gatehouse-recipes-test:${process.pid}`;
      const name = `gatehouse-recipes-test-${process.pid}`;
      const sh = async (...args: string[]) => {
        const r = await run(engine!, args);
        return { ...r, stdout: r.stdout.trim() };
      };
      try {
        const build = await sh('build', '-t', tag, '.');
        expect(build.code, build.stderr).toBe(0);
        const started = await sh(
          'run',
          '-d',
          '--name',
          name,
          '--read-only',
          '--tmpfs',
          '/tmp:size=64m',
          '--cap-drop',
          'ALL',
          '--security-opt',
          'no-new-privileges',
          '--health-interval',
          '2s',
          tag,
        );
        expect(started.code, started.stderr).toBe(0);
        let health = '';
        for (let i = 0; i < 120 && health !== 'healthy'; i += 1) {
          await new Promise((r) => setTimeout(r, 1000));
          health = (await sh('inspect', '--format', '{{.State.Health.Status}}', name)).stdout;
        }
        expect(health, (await sh('logs', name)).stdout).toBe('healthy');
        expect((await sh('exec', name, 'id', '-u')).stdout).toBe(one('USER').args.split(':')[0]);
        expect((await sh('stop', '--time', '30', name)).code).toBe(0);
        expect((await sh('inspect', '--format', '{{.State.ExitCode}}', name)).stdout).toBe('0');
      } finally {
        await sh('rm', '-f', name);
        await sh('rmi', '-f', tag);
      }
    },
    900_000,
  );

  it('health check: the image command exits 0 once /healthz answers 200, 1 while the server is starting or when nothing listens', async () => {
    const script = healthcheckScript();
    expect(script).toContain('/healthz');
    ready = false;
    expect((await run(process.execPath, ['-e', script], { PORT: String(port) })).code).toBe(1);
    ready = true;
    expect((await run(process.execPath, ['-e', script], { PORT: String(port) })).code).toBe(0);
    expect((await run(process.execPath, ['-e', script], { PORT: '1' })).code).toBe(1);
  });
});

describe('compose.yaml', () => {
  const text = read('compose.yaml');
  const compose = parse(text, { merge: true }) as {
    services: Record<
      string,
      {
        image?: string;
        build?: string;
        env_file?: string;
        read_only?: boolean;
        tmpfs?: string[];
        environment?: Record<string, string>;
        depends_on?: Record<string, { condition: string }>;
        healthcheck?: { test: string[] };
        volumes?: string[];
        ports?: string[];
        cap_drop?: string[];
      }
    >;
    volumes: Record<string, unknown>;
  };

  it.skipIf(!dclintDir)(
    'passes dclint (the Compose Specification schema and its rules) with no warning, which flags a broken one',
    async () => {
      const bin = join(dclintDir!, 'bin', 'dclint.cjs');
      const ok = await run(process.execPath, [bin, '--max-warnings', '0', '--color', 'false', 'compose.yaml']);
      expect(ok.stdout + ok.stderr).not.toMatch(/problems?\b/);
      expect(ok.code).toBe(0);
      const dir = mkdtempSync(join(tmpdir(), 'gatehouse-compose-'));
      try {
        writeFileSync(join(dir, 'compose.yaml'), text.replace('read_only: true', 'read_onlyy: true'));
        const bad = await run(process.execPath, [bin, '--color', 'false', join(dir, 'compose.yaml')]);
        expect(bad.code).toBe(1);
        expect(bad.stdout).toContain('invalid-schema');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  it('runs two read-only Gatehouse replicas on PostgreSQL 16, secrets from .env (never committed)', () => {
    const replicas = Object.entries(compose.services).filter(([, s]) => s.build === '.');
    expect(replicas.map(([name]) => name)).toHaveLength(2);
    const [dbName, db] = Object.entries(compose.services).find(([, s]) => s.image?.startsWith('postgres:')) ?? [];
    expect(db?.image).toMatch(/^postgres:16\b/);
    expect(db?.healthcheck?.test.join(' ')).toContain('pg_isready');
    expect(db?.volumes?.[0]).toMatch(/^([\w-]+):\/var\/lib\/postgresql\/data$/);
    expect(compose.volumes).toHaveProperty(db!.volumes![0]!.split(':')[0]!);
    const ports = new Set<string>();
    for (const [, replica] of replicas) {
      expect(replica.environment?.['DATABASE_URL']).toMatch(new RegExp(`^postgres://[^@]+@${dbName}:5432/`));
      expect(replica.depends_on?.[dbName!]?.condition).toBe('service_healthy');
      expect(replica.env_file).toBe('.env');
      expect(replica.read_only).toBe(true);
      expect(replica.tmpfs?.some((t) => t.startsWith('/tmp'))).toBe(true);
      expect(replica.cap_drop).toEqual(['ALL']);
      for (const p of replica.ports ?? []) ports.add(p.split(':').slice(0, -1).join(':'));
    }
    expect(ports.size).toBe(2); // one host port each
    expect(read('.gitignore').split('\n')).toContain('.env');
  });
});

describe('deploy/kubernetes', () => {
  const dir = 'deploy/kubernetes';
  const load = (path: string): Array<Record<string, unknown>> =>
    parseAllDocuments(read(path)).map((d) => d.toJS() as Record<string, unknown>);
  const docs = ['deployment.yaml', 'service.yaml', 'poddisruptionbudget.yaml', 'example-secret/secret.yaml'].flatMap((f) =>
    load(`${dir}/${f}`),
  );
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a manifest read as data, checked path by path
  const byKind = (kind: string): Record<string, any> => {
    const found = docs.filter((d) => d['kind'] === kind);
    expect(found, kind).toHaveLength(1);
    return found[0]!;
  };
  const deployment = byKind('Deployment');
  const pod = deployment['spec'].template.spec;
  const container = pod.containers[0];

  it.skipIf(!k8sInstalled)(
    'every manifest is valid against the Kubernetes API schema (kubernetes-models), which flags a broken one',
    () => {
      for (const doc of docs) {
        const Model = k8s[doc['kind'] as keyof typeof k8s]!;
        expect(Model, `a validator for ${String(doc['kind'])}`).toBeDefined();
        expect(
          () => new Model(doc).validate(),
          `${String(doc['kind'])} ${JSON.stringify((doc['metadata'] as { name?: string }).name)}`,
        ).not.toThrow();
      }
      const broken = structuredClone(deployment);
      broken.spec.replicas = 'two';
      broken.spec.template.spec.containers[0].resources.limits.memory = 'plenty';
      expect(() => new k8s.Deployment!(broken).validate()).toThrow(/replicas must be integer[\s\S]*memory must match format "quantity"/);
    },
  );

  it('two replicas, a disruption budget and a Service that select the same pods', () => {
    expect(deployment['spec'].replicas).toBe(2);
    const labels = deployment['spec'].template.metadata.labels;
    expect(deployment['spec'].selector.matchLabels).toEqual(labels);
    const pdb = byKind('PodDisruptionBudget');
    expect(pdb['spec'].selector.matchLabels).toEqual(labels);
    expect(pdb['spec'].minAvailable).toBe(1);
    const service = byKind('Service');
    expect(service['spec'].selector).toEqual(labels);
    const portNames = container.ports.map((p: { name: string }) => p.name);
    for (const p of service['spec'].ports) expect(portNames).toContain(p.targetPort);
    const env = Object.fromEntries(container.env.map((e: { name: string; value: string }) => [e.name, e.value]));
    expect(container.ports.find((p: { name: string }) => p.name === 'http').containerPort).toBe(Number(env['PORT']));
  });

  it('non-root, read-only root filesystem, no capabilities; /tmp on an emptyDir', () => {
    const uid = Number(one('USER').args.split(':')[0]);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: uid });
    expect(container.securityContext).toMatchObject({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    const tmp = container.volumeMounts.find((m: { mountPath: string }) => m.mountPath === '/tmp');
    expect(pod.volumes.find((v: { name: string }) => v.name === tmp.name).emptyDir).toBeDefined();
  });

  it('memory sized from the measured resident size of a PostgreSQL replica (about 305 MiB under load)', () => {
    const mib = (q: string): number => {
      const m = /^(\d+)(Mi|Gi)$/.exec(q);
      expect(m, q).not.toBeNull();
      return Number(m![1]) * (m![2] === 'Gi' ? 1024 : 1);
    };
    const { requests, limits } = container.resources;
    expect(mib(requests.memory)).toBeGreaterThanOrEqual(305);
    expect(mib(limits.memory)).toBeGreaterThanOrEqual(2 * 305);
    expect(requests.cpu).toBeDefined();
  });

  it('probes hit routes the server serves: 503 while starting, 200 once ready', async () => {
    const paths = ['startupProbe', 'livenessProbe', 'readinessProbe'].map((p) => {
      expect(container[p]?.httpGet?.port, p).toBe('http');
      return container[p].httpGet.path as string;
    });
    expect(paths[1]).toBe('/healthz');
    expect(paths[2]).toBe('/readyz');
    for (const path of new Set(paths)) {
      ready = false;
      expect(await status(path), `${path} while starting`).toBe(503);
      ready = true;
      expect(await status(path), `${path} when ready`).toBe(200);
    }
  });

  it('reads its configuration from the Secret, whose example is a configuration Gatehouse accepts once its key is filled in', () => {
    const secret = byKind('Secret');
    expect(container.envFrom).toEqual([{ secretRef: { name: secret['metadata'].name } }]);
    // the placeholder key is refused as it stands (a key is checked when the configuration loads)
    expect(() => loadConfig(secret['stringData'])).toThrow(/PRIVATE_KEY: not a readable private key/);
    const config = loadConfig({ ...secret['stringData'], PRIVATE_KEY: testPrivateKey() });
    expect(config.databaseUrl).toMatch(/^postgres:\/\//);
    expect([config.github, config.gitlab, config.slack].every((p) => p !== null)).toBe(true);
    // `kubectl apply -f deploy/kubernetes/` does not descend into example-secret/
    expect(existsSync(join(root, dir, 'secret.yaml'))).toBe(false);
  });
});
