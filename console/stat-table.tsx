/** A znode's Stat as a table: zxids, times as dates, versions, and the owning session of an ephemeral. */
import type { ZnodeStat } from './api.ts';

const FIELDS: ReadonlyArray<[keyof ZnodeStat & string, string]> = [
  ['czxid', 'created at zxid'], ['mzxid', 'modified at zxid'], ['pzxid', 'children changed at zxid'],
  ['ctime', 'created'], ['mtime', 'modified'], ['version', 'data version'], ['cversion', 'children version'],
  ['aversion', 'ACL version'], ['ephemeralOwner', 'ephemeral owner (session)'], ['dataLength', 'data bytes'], ['numChildren', 'children'],
];

export function StatTable({ stat }: { stat: ZnodeStat; onOpen: (path: string) => void }) {
  const value = (field: string) => {
    const raw = stat[field];
    if ((field === 'ctime' || field === 'mtime') && typeof raw === 'number') return `${new Date(raw).toISOString()} (${raw})`;
    if (field === 'ephemeralOwner' && raw === '0') return 'none (persistent)';
    return String(raw);
  };
  return (
    <table class="stat" data-testid="stat-table">
      <caption>Stat</caption>
      <tbody>
        {FIELDS.map(([field, label]) => (
          <tr key={field}><th scope="row" title={label}>{field}</th><td data-field={field}>{value(field)}</td></tr>
        ))}
      </tbody>
    </table>
  );
}
