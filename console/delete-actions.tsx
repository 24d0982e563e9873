/** Delete (at the version shown) and delete with everything under it, after a confirmation. */
import { useRef, useState } from 'preact/hooks';
import { client, describeError, parentOf } from './api.ts';
import { deleteSubtree, listSubtree } from './delete-tree.ts';

interface Props {
  path: string;
  version: number;
  hasChildren: boolean;
  onDeleted: (parent: string) => void;
}

export function DeleteActions({ path, version, hasChildren, onDeleted }: Props) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [count, setCount] = useState<number | undefined>();
  const [status, setStatus] = useState('');

  if (path === '/') return null;

  const remove = async () => {
    try {
      await client.delete(path, { version });
      onDeleted(parentOf(path));
    } catch (error) {
      setStatus(describeError(error));
    }
  };

  const askRecursive = async () => {
    try {
      setCount((await listSubtree(path)).length);
      setStatus('');
      dialog.current?.showModal();
    } catch (error) {
      setStatus(describeError(error));
    }
  };

  const removeRecursive = async () => {
    dialog.current?.close();
    try {
      await deleteSubtree(path);
      onDeleted(parentOf(path));
    } catch (error) {
      setStatus(describeError(error));
    }
  };

  return (
    <span class="delete">
      <button type="button" class="danger" disabled={hasChildren} title={hasChildren ? 'has children: delete recursively' : undefined} onClick={() => void remove()}>Delete</button>
      <button type="button" class="danger" onClick={() => void askRecursive()}>Delete recursively…</button>
      {status && <span class="error-text" role="alert" data-testid="delete-status">{status}</span>}
      <dialog ref={dialog} aria-labelledby="confirm-title" data-testid="confirm-delete">
        <h3 id="confirm-title">Delete {path} and everything under it?</h3>
        <p>{count} node{count === 1 ? '' : 's'} will be deleted. This cannot be undone.</p>
        <div class="actions">
          <button type="button" class="danger" onClick={() => void removeRecursive()}>Delete {count} nodes</button>
          <button type="button" autoFocus onClick={() => dialog.current?.close()}>Cancel</button>
        </div>
      </dialog>
    </span>
  );
}
