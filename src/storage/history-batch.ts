/**
 * A batch of change-history events as one row's text: a line per event, `<zxid − first> <code><path>`,
 * where the code is one letter per event type and a path always starts with `/` (paths hold no
 * control characters, so no line break or tab). Text, not JSON: building it costs a concatenation
 * per event. A node whose ACL is not the open one has it after a tab, as JSON, so a resumed stream
 * delivers a descendant's event only to a caller who could READ it then.
 */
import { OPEN_ACL, parseAclJson, type Acl } from '../core/acl/acl.ts';
import type { EventType, TreeEvent } from '../core/tree/results.ts';
import { StorageCorruptError } from './storage-error.ts';

export interface HistoryEvent {
  readonly zxid: number;
  readonly type: EventType;
  readonly path: string;
  /** The node's ACL at the change (absent: open). */
  readonly acl?: Acl;
}

const CODES: Readonly<Record<EventType, string>> = {
  NodeCreated: 'c', NodeDeleted: 'd', NodeDataChanged: 'm', NodeChildrenChanged: 'n',
  DataWatchRemoved: 'w', ChildWatchRemoved: 'x',
};
const TYPES = new Map(Object.entries(CODES).map(([type, code]) => [code, type as EventType]));

/** The batch being recorded: whole transactions, in zxid order. */
export class BatchWriter {
  first = 0;
  last = 0;
  events = 0;
  private text = '';

  add(event: TreeEvent): void {
    if (this.events === 0) this.first = event.zxid;
    const acl = event.acl === undefined || event.acl === OPEN_ACL ? '' : `\t${JSON.stringify(event.acl)}`;
    this.text += `${this.events === 0 ? '' : '\n'}${event.zxid - this.first} ${CODES[event.type]}${event.path}${acl}`;
    this.last = event.zxid;
    this.events++;
  }

  body(): string {
    return this.text;
  }
}

/** The events of a batch whose first zxid is `first`, in order. */
export function decodeBatch(first: number, body: string): HistoryEvent[] {
  const events: HistoryEvent[] = [];
  for (const line of body.split('\n')) {
    const space = line.indexOf(' ');
    const type = TYPES.get(line.charAt(space + 1));
    const delta = Number(line.slice(0, space));
    if (space <= 0 || type === undefined || !Number.isSafeInteger(delta) || line.charAt(space + 2) !== '/') {
      throw new StorageCorruptError(`change history batch at zxid ${first} is malformed`);
    }
    const tab = line.indexOf('\t', space);
    if (tab < 0) {
      events.push({ zxid: first + delta, type, path: line.slice(space + 2) });
      continue;
    }
    events.push({ zxid: first + delta, type, path: line.slice(space + 2, tab), acl: aclOf(line.slice(tab + 1), first) });
  }
  return events;
}

function aclOf(text: string, first: number): Acl {
  let acl: ReturnType<typeof parseAclJson> | undefined;
  try {
    acl = parseAclJson(JSON.parse(text));
  } catch {
    acl = undefined;
  }
  if (acl === undefined || 'code' in acl) throw new StorageCorruptError(`change history batch at zxid ${first} holds a malformed ACL`);
  return acl;
}
