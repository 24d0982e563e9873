/** A node's ACL (getACL) and its editing (setACL in zkCli's form, checked against aversion). */
import { useEffect, useState } from 'preact/hooks';
import { describeError, isCode, readAcl, writeAcl, type AclEntry } from './api.ts';

const compact = (acl: readonly AclEntry[]) => acl.map((e) => `${e.scheme}:${e.id}:${e.perms}`).join(',\n');

export function AclPanel({ path }: { path: string }) {
  const [acl, setAcl] = useState<readonly AclEntry[] | undefined>();
  const [aversion, setAversion] = useState(-1);
  const [text, setText] = useState('');
  const [status, setStatus] = useState<{ kind: 'ok' | 'error'; text: string } | undefined>();

  const load = async () => {
    try {
      const answer = await readAcl(path);
      setAcl(answer.acl);
      setAversion(answer.stat.aversion);
      setText(compact(answer.acl));
    } catch (error) {
      setStatus({ kind: 'error', text: describeError(error) });
    }
  };
  useEffect(() => void load(), [path]);

  const save = async (e: Event) => {
    e.preventDefault();
    try {
      await writeAcl(path, text.replace(/\s*\n\s*/g, ''), aversion);
      setStatus({ kind: 'ok', text: 'ACL saved' });
      await load();
    } catch (error) {
      setStatus({ kind: 'error', text: isCode(error, 'BADVERSION') ? `BADVERSION: the ACL changed since you loaded aversion ${aversion}; reload it` : describeError(error) });
    }
  };

  return (
    <div class="acl">
      {acl && (
        <table data-testid="acl-table">
          <caption>ACL (aversion {aversion})</caption>
          <thead><tr><th scope="col">scheme</th><th scope="col">id</th><th scope="col">perms</th></tr></thead>
          <tbody>{acl.map((e) => <tr key={`${e.scheme}:${e.id}`}><td>{e.scheme}</td><td>{e.id}</td><td>{e.perms}</td></tr>)}</tbody>
        </table>
      )}
      <form onSubmit={save} aria-label={`Edit the ACL of ${path}`}>
        <label for="acl-text">ACL entries, <code>scheme:id:perms</code> separated by commas (perms from <code>cdrwa</code>)</label>
        <textarea id="acl-text" rows={4} spellcheck={false} value={text} onInput={(e) => setText((e.target as HTMLTextAreaElement).value)} />
        <div class="actions">
          <button type="submit">Save ACL</button>
          <button type="button" onClick={() => void load()}>Reload</button>
          {status && <span class={status.kind === 'ok' ? 'ok-text' : 'error-text'} role={status.kind === 'ok' ? 'status' : 'alert'}>{status.text}</span>}
        </div>
      </form>
    </div>
  );
}
