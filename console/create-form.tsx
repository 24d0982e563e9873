/** Creates a child of the open node: every mode (TTL ones included), data, and an optional ACL. */
import { useState } from 'preact/hooks';
import { client, describeError, join } from './api.ts';
import { consoleSession } from './console-session.ts';
import type { CreateMode } from '../src/client/corral-client.ts';

const MODES: readonly CreateMode[] = [
  'persistent', 'persistent_sequential', 'ephemeral', 'ephemeral_sequential', 'container', 'persistent_with_ttl', 'persistent_sequential_with_ttl',
];

export function CreateForm({ parent, onCreated }: { parent: string; onCreated: (path: string) => void }) {
  const [name, setName] = useState('');
  const [mode, setMode] = useState<CreateMode>('persistent');
  const [ttl, setTtl] = useState('60000');
  const [data, setData] = useState('');
  const [acl, setAcl] = useState('');
  const [status, setStatus] = useState('');
  const withTtl = mode.endsWith('_with_ttl');
  const ephemeral = mode.startsWith('ephemeral');

  const submit = async (e: Event) => {
    e.preventDefault();
    try {
      const headers: Record<string, string> = acl.trim() === '' ? {} : { 'Zk-Acl': acl.trim() };
      if (ephemeral) Object.assign(headers, (await consoleSession()).headers);
      // A sequential create may name only the parent: `parent/` gets the counter alone.
      const path = name === '' && mode.includes('sequential') ? `${parent === '/' ? '' : parent}/` : join(parent, name);
      const created = await client.create(path, data, { mode, ...(withTtl ? { ttlMs: Number(ttl) } : {}), headers });
      setStatus('');
      setName('');
      onCreated(created);
    } catch (error) {
      setStatus(describeError(error));
    }
  };

  return (
    <form class="create" onSubmit={submit} aria-label={`Create a child of ${parent}`}>
      <label>Name <span class="hint">(under {parent})</span>
        <input name="name" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} required={!mode.includes('sequential')} />
      </label>
      <label>Mode
        <select name="mode" value={mode} onChange={(e) => setMode((e.target as HTMLSelectElement).value as CreateMode)}>
          {MODES.map((m) => <option key={m} value={m}>{m}</option>)}
        </select>
      </label>
      {withTtl && (
        <label>TTL (ms) <input name="ttl" type="number" min="1" value={ttl} onInput={(e) => setTtl((e.target as HTMLInputElement).value)} required /></label>
      )}
      {ephemeral && <p class="hint">Ephemeral nodes belong to this console's session: they go when the tab closes.</p>}
      <label>Data (UTF-8 text) <textarea name="data" rows={4} value={data} onInput={(e) => setData((e.target as HTMLTextAreaElement).value)} /></label>
      <label>ACL <span class="hint">(optional, e.g. <code>world:anyone:r,digest:bob:HASH:cdrwa</code>)</span>
        <input name="acl" value={acl} onInput={(e) => setAcl((e.target as HTMLInputElement).value)} />
      </label>
      <div class="actions">
        <button type="submit">Create</button>
        {status && <span class="error-text" role="alert" data-testid="create-status">{status}</span>}
      </div>
    </form>
  );
}
