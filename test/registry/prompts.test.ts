import { ADMIN, as, createUser, startAuthServer, type AuthTestServer } from '../auth/helpers';
import { describeWithTool } from '../helpers/tools';
import { api, mlflowClients, startTestServer, storeAvailability, storeKinds, tracingClients, type TestServer } from '../tracking/helpers';
import { runRegistryScript } from './helpers';
import { ifStarted } from '../helpers/lifecycle';

jest.setTimeout(300_000);

/**
 * The prompt registry (issue 15 item 2): MLflow 3's `mlflow.genai` prompt API keeps prompts as
 * registered models tagged `mlflow.prompt.is_prompt` whose versions carry the template in a tag and a
 * placeholder source. The official client runs the whole workflow; the server accepts only MLflow's
 * placeholders as prompt sources.
 */
const mlflow3 = mlflowClients.find((c) => c.name.includes('3.x'))!;
const mlflow31 = tracingClients.find((c) => c.tag === '31')!;
/** The current client and an early 3.x one (3.1: text prompts only, prompt tags on MlflowClient). */
const promptClients = [
  { ...mlflow3, early: false, tag: '3x' },
  { ...mlflow31, early: true },
];

function expectPromptWorkflow(out: any, name: string, early: boolean): void {
  expect(out.versions).toEqual([1, 2, 1]);
  expect(out.v1_template).toBe('Hello {{name}}!');
  expect(out.v1_formatted).toBe('Hello Ann!');
  expect(out.alias_moved).toEqual([1, 2]);
  expect(out.alias_formatted).toBe('Hi Ann, welcome to Oslo.');
  expect(out.alias_variables).toEqual(['name', 'place']);
  expect(out.latest).toBe(2);
  expect(out.commit_message).toBe('second');
  if (early) {
    // 3.1 has text prompts only: a message list is kept as its text, and formatting fills that text in.
    expect(out.chat_formatted).toContain("'content': 'Where is Oslo?'");
  } else {
    expect(out.chat_formatted).toEqual([
      { role: 'system', content: 'You answer about maps.' },
      { role: 'user', content: 'Where is Oslo?' },
    ]);
  }
  expect(out.prompt_tags).toMatchObject({ owner: 'alice', team: 'genai' });
  expect(out.tags_after_delete).not.toHaveProperty('owner');
  // 3.1's set_prompt_version_tag fails client-side (an int into a string proto field) before any request.
  expect(out.version_tag).toBe(early ? null : 'yes');
  expect(out.found).toEqual(expect.arrayContaining([name, `${name}-chat`]));
  expect(out.found_filtered).toEqual([name]);
  expect(out.models).not.toContain(name);
  expect(out.linked_to_run).toEqual([{ name, version: '2' }]);
  expect(out.alias_gone).toBe(true);
  if (early) expect(out.missing_message).toMatch(/^RESOURCE_DOES_NOT_EXIST: Prompt with name=.* not found/);
  else expect(out.missing).toBe('RESOURCE_DOES_NOT_EXIST');
}

const promptVersion = (name: string, source: string, isPrompt = 'true') => ({
  name,
  source,
  tags: [
    { key: 'mlflow.prompt.is_prompt', value: isPrompt },
    { key: 'mlflow.prompt.text', value: 'Hi {{x}}' },
  ],
});

for (const kind of storeKinds()) {
  describeWithTool(`the prompt registry on ${kind}`, storeAvailability(kind), () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer(kind);
    });
    afterAll(async () => ifStarted(server)?.stop());

    for (const client of promptClients)
      describeWithTool(client.name, client.availability, () => {
        test('register two versions, move an alias, load by version and alias, format, tags, search, run link', async () => {
          const out = await runRegistryScript(client.python, 'prompts_workflow.py', [server.url, `greeting-${client.tag}`]);
          expect(out.mlflow_version.startsWith(client.early ? '3.1.' : '3.')).toBe(true);
          expectPromptWorkflow(out, `greeting-${client.tag}`, client.early);
        });
      });

    test('a prompt version takes only MLflow placeholder sources and resolves nothing', async () => {
      await api(server.url, 'POST', '/registered-models/create', { name: 'p-rest', tags: [{ key: 'mlflow.prompt.is_prompt', value: 'true' }] });
      for (const source of ['runs:/0123456789abcdef0123456789abcdef/x', '/etc/passwd', 's3://bucket/x', 'mlflow-artifacts:/1/x', 'dummy-source/../x']) {
        const r = await api(server.url, 'POST', '/model-versions/create', promptVersion('p-rest', source));
        expect([source, r.status, r.body.error_code]).toEqual([source, 400, 'INVALID_PARAMETER_VALUE']);
      }
      const ok = await api(server.url, 'POST', '/model-versions/create', promptVersion('p-rest', 'prompt-template', 'True'));
      expect(ok.body.model_version).toMatchObject({ version: '1', source: 'prompt-template', status: 'READY' });
      expect(
        (
          await api(server.url, 'POST', '/model-versions/create', {
            ...promptVersion('p-rest', 'dummy-source'),
            model_id: 'm-00000000000000000000000000000000',
          })
        ).status,
      ).toBe(400);
      // Without the prompt tag (or with it false) the placeholder is an ordinary, unresolvable model source.
      expect((await api(server.url, 'POST', '/model-versions/create', promptVersion('p-rest', 'dummy-source', 'false'))).status).toBe(400);
      // The last value of a repeated tag key decides, as MLflow reads the tags.
      const twice = {
        ...promptVersion('p-rest', 'dummy-source'),
        tags: [
          { key: 'mlflow.prompt.is_prompt', value: 'true' },
          { key: 'mlflow.prompt.is_prompt', value: 'false' },
        ],
      };
      expect((await api(server.url, 'POST', '/model-versions/create', twice)).status).toBe(400);
    });
  });

  describeWithTool(`the prompt registry under basic-auth on ${kind}`, storeAvailability(kind), () => {
    let server: AuthTestServer;
    beforeAll(async () => {
      server = await startAuthServer(kind);
    });
    afterAll(async () => ifStarted(server)?.stop());

    for (const client of promptClients)
      describeWithTool(client.name, client.availability, () => {
        test('the prompt workflow as a non-admin user; another user (READ) cannot add versions or move aliases', async () => {
          const prompt = `auth-greeting-${client.tag}`;
          const alice = await createUser(server, `alice-${client.tag}`);
          const bob = await createUser(server, `bob-${client.tag}`);
          const out = await runRegistryScript(client.python, 'prompts_workflow.py', [server.url, prompt], {
            MLFLOW_TRACKING_USERNAME: alice.username,
            MLFLOW_TRACKING_PASSWORD: alice.password,
          });
          expectPromptWorkflow(out, prompt, client.early);
          expect((await as(server, bob)('POST', '/model-versions/create', promptVersion(prompt, 'dummy-source'))).status).toBe(403);
          expect((await as(server, bob)('POST', '/registered-models/alias', { name: prompt, alias: 'x', version: '1' })).status).toBe(403);
          expect((await as(server, bob)('GET', '/registered-models/get', { name: prompt })).status).toBe(200);
          expect((await as(server, ADMIN)('GET', '/registered-models/get', { name: prompt })).body.registered_model.name).toBe(prompt);
        });
      });
  });
}
