import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import {
  dashboard,
  dashboardTargets,
  envFile,
  readYaml,
  repoFile,
  ruleGroups,
} from '../helpers/deploy-files.js';
import { example, postGithub } from '../helpers/github.js';
import { jobHook, postGitlab } from '../helpers/gitlab.js';
import { push } from '../helpers/push.js';
import { getMetrics, startTestApp } from '../helpers/start-app.js';
import { tempDir } from '../helpers/temp-dir.js';

interface Container {
  ports: Array<{ name: string; containerPort: number }>;
  env: Array<{ name: string; value: string }>;
  envFrom: Array<{ configMapRef: { name: string } }>;
  startupProbe: Probe;
  livenessProbe: Probe;
  readinessProbe: Probe;
  volumeMounts: Array<{ name: string; mountPath: string }>;
}
interface Probe {
  httpGet: { path: string; port: string };
}
interface StatefulSet {
  spec: {
    replicas: number;
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string>; annotations: Record<string, string> };
      spec: { serviceAccountName: string; containers: Container[] };
    };
  };
}
interface Service {
  metadata: { labels: Record<string, string> };
  spec: {
    selector: Record<string, string>;
    ports: Array<{ name: string; port: number; targetPort: string }>;
  };
}

function promtool(args: string[], cwd: string): { status: number | null; output: string } {
  const r = spawnSync('promtool', args, { cwd, encoding: 'utf8' });
  if (r.error) throw new Error(`promtool is not installed (apt-get install prometheus): ${r.error.message}`);
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

/**
 * The name and KV path of each secret the pod's Vault Agent Injector renders, its template, and
 * the file it lands in under /vault/secrets: as vault-k8s names it, the annotation's name
 * lowercased unless `preserve-secret-case` (global or `-<name>`) is true, or the name given by
 * `agent-inject-file-<name>`.
 */
function injectedSecrets(annotations: Record<string, string>) {
  const a = 'vault.hashicorp.com/';
  const prefix = `${a}agent-inject-secret-`;
  return Object.entries(annotations)
    .filter(([k]) => k.startsWith(prefix))
    .map(([k, path]) => {
      const name = k.slice(prefix.length);
      const preserve =
        (annotations[`${a}preserve-secret-case-${name}`] ?? annotations[`${a}preserve-secret-case`]) ===
        'true';
      const file = annotations[`${a}agent-inject-file-${name}`] ?? (preserve ? name : name.toLowerCase());
      return { name, file, path, template: annotations[`${a}agent-inject-template-${name}`] };
    });
}

/**
 * Renders the forms of Vault Agent template the deployment files may use, from a fake KV store:
 * `{{ with secret "PATH" }}{{ .Data.data.KEY }}{{ end }}`, which Vault Agent renders as
 * `<no value>` when KEY is missing from the entry (its `error_on_missing_key` is false by
 * default, https://developer.hashicorp.com/vault/docs/agent-and-proxy/agent/template), and
 * `{{ with secret "PATH" }}{{ with .Data.data.KEY }}{{ . }}{{ end }}{{ end }}`, which renders
 * nothing then; trim markers optional. Anything else fails the test: a template this cannot read
 * is one no test covers.
 */
function render(
  template: string,
  kv: Record<string, Record<string, string>>,
): { path: string; key: string; value: string } {
  const m =
    /^\s*\{\{-? with secret "([^"]+)" -?\}\}(?:\{\{ \.Data\.data\.([A-Z0-9_]+) \}\}|\{\{ with \.Data\.data\.([A-Z0-9_]+) \}\}\{\{ \. \}\}\{\{ end \}\})\{\{-? end -?\}\}\s*$/.exec(
      template,
    );
  assert.ok(m, `a template of an unexpected form: ${template}`);
  const [, path = '', plain, guarded] = m;
  const key = plain ?? guarded ?? '';
  const value = kv[path]?.[key];
  return { path, key, value: value ?? (plain === undefined ? '' : '<no value>') };
}

/** Vault policy paths (`path "secret/data/x/*"`) and whether one of them grants reading `path`. */
function policyReads(policy: string, path: string): boolean {
  for (const m of policy.matchAll(/path "([^"]+)" \{\s*capabilities = \[([^\]]*)\]/g)) {
    const [, glob = '', caps = ''] = m;
    const covers = glob.endsWith('*') ? path.startsWith(glob.slice(0, -1)) : path === glob;
    if (covers && caps.includes('"read"')) return true;
  }
  return false;
}

describe('k8s/ and vault/ run the service as the README says', function () {
  this.timeout(60_000);

  it('the alert rules pass promtool check and their unit tests (k8s/monitoring/alerts.test.yaml)', () => {
    const dir = tempDir('dm-rules-');
    writeFileSync(join(dir, 'delivery-metrics.rules.yaml'), stringify(ruleGroups()));
    copyFileSync(repoFile('k8s/monitoring/alerts.test.yaml'), join(dir, 'alerts.test.yaml'));
    const check = promtool(['check', 'rules', 'delivery-metrics.rules.yaml'], dir);
    assert.equal(check.status, 0, check.output);
    const test = promtool(['test', 'rules', 'alerts.test.yaml'], dir);
    assert.equal(test.status, 0, test.output);
    assert.match(test.output, /SUCCESS/);
    // Every alert has at least one unit test that expects it to fire.
    const tested = readFileSync(repoFile('k8s/monitoring/alerts.test.yaml'), 'utf8');
    for (const rule of ruleGroups().groups.flatMap((g) => g.rules)) {
      if (rule.alert === undefined) continue;
      assert.match(
        tested,
        new RegExp(`alertname: ${rule.alert}\\n\\s+exp_alerts:\\n\\s+- exp_labels`),
        rule.alert,
      );
    }
  });

  it('the rules and the dashboard name only metrics and labels the service exports', async () => {
    const app = await startTestApp({});
    let text: string;
    try {
      text = await getMetrics(app.url);
    } finally {
      await app.stop();
    }
    const families = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]));
    // Labels per family from docs/metrics.md, the table operators read.
    const labels = new Map<string, Set<string>>();
    let previous = new Set<string>();
    for (const m of readFileSync(repoFile('docs/metrics.md'), 'utf8').matchAll(
      /^\| `([a-z_*]+)`[^|]*\| [a-z]* \| ([^|]*) \|/gm,
    )) {
      const [, name = '', column = ''] = m;
      const these =
        column.trim() === 'same'
          ? previous
          : new Set(
              column
                .replace(/\([^)]*\)/g, '')
                .split(/\s+/)
                .filter((w) => /^[a-z_]+$/.test(w)),
            );
      labels.set(name, new Set([...(labels.get(name) ?? []), ...these]));
      previous = these;
    }
    const exprs = [
      ...ruleGroups().groups.flatMap((g) =>
        g.rules.map((r) => ({ where: r.alert ?? r.record ?? '', expr: r.expr })),
      ),
      ...dashboardTargets().map((t) => ({ where: t.panel, expr: t.expr })),
      ...dashboard()
        .templating.list.filter((v) => v.type === 'query')
        .map((v) => ({ where: `$${v.name}`, expr: String((v.query as { query: string }).query) })),
    ];
    assert.ok(exprs.length > 40);
    for (const { where, expr } of exprs) {
      const used = [...expr.matchAll(/\b(delivery_[a-z_]+)/g)].map((m) => m[1] ?? '');
      assert.ok(used.length > 0 || expr.includes('up{'), `${where}: no metric in ${expr}`);
      // prom-client's process metrics (process_start_time_seconds) carry only job and instance.
      for (const [name = ''] of expr.matchAll(/\bprocess_[a-z_]+/g))
        assert.ok(families.has(name), `${where}: ${name} is not exported`);
      const known = new Set<string>(['le', 'job', 'instance']);
      for (const name of used) {
        const family = name.replace(/_(bucket|count|sum)$/, '');
        assert.ok(families.has(family), `${where}: ${name} is not exported`);
        for (const l of labels.get(family) ?? assert.fail(`${where}: ${family} is not in docs/metrics.md`))
          known.add(l);
      }
      // Prometheus renames SPEC's `job` label to exported_job (docs/metrics.md).
      const named = [
        ...[...expr.matchAll(/\{([^}]*)\}/g)].flatMap((m) =>
          [...(m[1] ?? '').matchAll(/(\w+)\s*(?:=~|!~|!=|=)/g)].map((x) => x[1] ?? ''),
        ),
        ...[...expr.matchAll(/\bby \(([^)]*)\)/g)].flatMap((m) =>
          (m[1] ?? '').split(',').map((s) => s.trim()),
        ),
      ].map((l) => (l === 'exported_job' ? 'job' : l));
      for (const l of named)
        assert.ok(known.has(l), `${where}: label ${l} is not a label of ${used.join(', ')}`);
    }
  });

  it('the StatefulSet, its ConfigMap and its Vault-rendered secrets start the service; probes, ports and selectors agree', async () => {
    const sts = readYaml<StatefulSet>('k8s/statefulset.yaml');
    const svc = readYaml<Service>('k8s/service.yaml');
    const monitor = readYaml<{
      spec: {
        selector: { matchLabels: Record<string, string> };
        endpoints: Array<{ port: string; path: string }>;
      };
    }>('k8s/monitoring/servicemonitor.yaml');
    const pod = sts.spec.template;
    const [container] = pod.spec.containers;
    assert.ok(container);
    // One replica: the embedded store is one process per DATA_DIR.
    assert.equal(sts.spec.replicas, 1);
    for (const [k, v] of Object.entries(sts.spec.selector.matchLabels))
      assert.equal(pod.metadata.labels[k], v);
    for (const [k, v] of Object.entries(svc.spec.selector)) assert.equal(pod.metadata.labels[k], v);
    for (const [k, v] of Object.entries(monitor.spec.selector.matchLabels))
      assert.equal(svc.metadata.labels[k], v);

    const env = Object.fromEntries(container.env.map((e) => [e.name, e.value]));
    const port = container.ports.find((p) => p.name === 'http');
    assert.ok(port);
    assert.equal(env.LISTEN_ADDRESS, `:${port.containerPort}`);
    assert.deepEqual(
      svc.spec.ports.map((p) => [p.targetPort, p.port]),
      [['http', port.containerPort]],
    );
    assert.deepEqual(
      monitor.spec.endpoints.map((e) => [e.port, e.path]),
      [[svc.spec.ports[0]?.name, '/metrics']],
    );
    assert.ok(
      container.volumeMounts.some((m) => m.mountPath === env.DATA_DIR),
      'DATA_DIR is on the volume',
    );
    // The Vault Agent Injector writes its files to /vault/secrets.
    assert.equal(env.SECRETS_DIR, '/vault/secrets');
    assert.equal(pod.metadata.annotations['vault.hashicorp.com/agent-inject'], 'true');

    // Render the pod's secrets from a fake KV store, as the injector would, into a SECRETS_DIR.
    const kv: Record<string, Record<string, string>> = {
      'secret/data/delivery-metrics/push': { AUTH_TOKEN: 'push-new,push-old' },
      'secret/data/delivery-metrics/webhooks': {
        GITHUB_WEBHOOK_SECRET: 'gh-secret',
        GITLAB_WEBHOOK_TOKEN_ACME: 'acme-secret',
      },
      'secret/data/delivery-metrics/scrapers': { GITLAB_TOKEN: 'glpat-x', GITHUB_TOKEN: 'ghp-x' },
    };
    const secrets = tempDir('dm-vault-secrets-');
    const injected = injectedSecrets(pod.metadata.annotations);
    assert.ok(injected.length >= 4);
    for (const s of injected) {
      assert.ok(s.template, `${s.name} has no agent-inject-template`);
      // The name part of an annotation key is at most 63 characters; the template's is the longest.
      assert.ok(`agent-inject-template-${s.name}`.length <= 63, `${s.name}: annotation name too long`);
      // The service reads only files named like a setting: the injector must not lowercase them.
      assert.match(s.file, /^[A-Z][A-Z0-9_]*$/, `${s.name} is rendered to /vault/secrets/${s.file}`);
      const { path, key, value } = render(s.template, kv);
      assert.equal(path, s.path, `${s.name}: the template reads another path than the annotation names`);
      assert.ok(kv[path]?.[key] !== undefined, `no ${key} at ${path} in the test's KV store`);
      // A key missing in Vault renders an empty file (ignored by the service), never a value
      // such as `<no value>` that would become a secret anyone can guess.
      assert.equal(render(s.template, {}).value, '', `${s.name}: a missing key renders as a value`);
      writeFileSync(join(secrets, s.file), value);
    }

    const app = await startTestApp({
      ...envFile('k8s/config.env'),
      ...env,
      LISTEN_ADDRESS: '127.0.0.1:0',
      SECRETS_DIR: secrets,
      DATA_DIR: undefined,
    });
    try {
      // No warning about a file in SECRETS_DIR that is not a setting.
      assert.deepEqual(
        app.logs.filter((l) => l.level === 40 && /SECRETS_DIR/.test(String(l.msg))),
        [],
      );
      for (const probe of [container.startupProbe, container.livenessProbe, container.readinessProbe]) {
        assert.equal(probe.httpGet.port, 'http');
        assert.equal((await fetch(`${app.url}${probe.httpGet.path}`)).status, 200, probe.httpGet.path);
      }
      // The rendered secrets are the service's: both push tokens of a rotation, the group's
      // GitLab secret for a project below it, the GitHub secret.
      for (const token of ['push-new', 'push-old']) {
        assert.equal(
          (await push(app.url, '/api/deployments_total/inc', { labels: 'api,success' }, token)).status,
          200,
        );
      }
      const gitlab = await postGitlab(app.url, jobHook({ id: 1, status: 'pending' }), {
        token: 'acme-secret',
      });
      assert.equal(gitlab.status, 200, JSON.stringify(gitlab.body));
      assert.equal(
        (await postGitlab(app.url, jobHook({ id: 2, status: 'pending' }), { token: 'glpat-x' })).status,
        401,
      );
      assert.equal((await postGithub(app.url, 'ping', example('ping'), { secret: 'gh-secret' })).status, 200);
    } finally {
      await app.stop();
    }
  });

  it('the Vault policy grants every secret the pod and the agent read; the role is bound to the pod’s account', () => {
    const policy = readFileSync(repoFile('vault/policy.hcl'), 'utf8');
    const setup = readFileSync(repoFile('vault/setup.sh'), 'utf8');
    const agent = readFileSync(repoFile('vault/agent.hcl'), 'utf8');
    const sts = readYaml<StatefulSet>('k8s/statefulset.yaml');
    const annotations = sts.spec.template.metadata.annotations;
    const paths = injectedSecrets(annotations).map((s) => s.path);
    const agentTemplates = [...agent.matchAll(/destination = "([^"]+)"\s+contents\s+= "((?:[^"\\]|\\.)*)"/g)];
    assert.ok(agentTemplates.length >= 4);
    for (const [, destination = '', contents = ''] of agentTemplates) {
      const template = JSON.parse(`"${contents}"`) as string;
      const path = /secret "([^"]+)"/.exec(template)?.[1] ?? assert.fail(template);
      paths.push(path);
      // Each file is named like a setting, in one SECRETS_DIR.
      assert.match(destination, /^\/run\/delivery-metrics\/secrets\/[A-Z][A-Z0-9_]*$/);
      assert.match(template, new RegExp(`\\.Data\\.data\\.${destination.split('/').pop()} `));
      assert.equal(render(template, {}).value, '', `${destination}: a missing key renders as a value`);
    }
    for (const path of paths) {
      assert.ok(policyReads(policy, path), `vault/policy.hcl does not let the service read ${path}`);
      // setup.sh seeds every KV entry the templates read (kv put takes the path without data/).
      assert.ok(setup.includes(path.replace('/data/', '/')), `vault/setup.sh does not seed ${path}`);
    }
    assert.equal(policyReads(policy, 'secret/data/other-team/db'), false);
    // Least privilege: Vault Agent's templates read data only (KV version discovery needs no rule).
    assert.doesNotMatch(policy, /^path "[^"]*\/metadata\//m);
    const role = annotations['vault.hashicorp.com/role'];
    assert.match(setup, new RegExp(`auth/kubernetes/role/${role} `));
    assert.match(
      setup,
      new RegExp(`bound_service_account_names=${sts.spec.template.spec.serviceAccountName} `),
    );
    assert.equal(
      readYaml<{ metadata: { name: string } }>('k8s/serviceaccount.yaml').metadata.name,
      sts.spec.template.spec.serviceAccountName,
    );
    assert.match(
      setup,
      new RegExp(`NAMESPACE:-${readYaml<{ namespace: string }>('k8s/kustomization.yaml').namespace}\\}`),
    );
  });
});
