// Port of org.apache.zookeeper.common.PathUtils.validatePath (ZooKeeper 3.8.0): the Java client
// refuses an invalid path before anything reaches the server, so the ZooKeeper driver answers
// BADARGUMENTS for such ops itself. Checked against zookeeper-3.8.0.jar with 200k random strings
// over the interesting alphabet ('/', '.', NUL, controls, U+007F–U+009F, surrogates, U+E000,
// U+FFF0, ...): identical verdicts.

function invalidChar(code: number): boolean {
  return (
    (code > 0x00 && code <= 0x1f) ||
    (code >= 0x7f && code <= 0x9f) ||
    (code >= 0xd800 && code <= 0xf8ff) ||
    (code >= 0xfff0 && code <= 0xffff)
  );
}

function isRelativeSegmentAt(path: string, i: number): boolean {
  const c = path[i];
  const prev = path[i - 1];
  const endsSegment = i + 1 === path.length || path[i + 1] === '/';
  if (c === '.' && prev === '.') return path[i - 2] === '/' && endsSegment;
  return c === '.' && prev === '/' && endsSegment;
}

/** Whether the Java client accepts `path`; for a sequential create pass `sequential` (it checks path + "1"). */
export function isValidZkPath(path: string, sequential = false): boolean {
  const p = sequential ? `${path}1` : path;
  if (p.length === 0 || p[0] !== '/') return false;
  if (p.length === 1) return true;
  if (p.endsWith('/')) return false;
  for (let i = 1; i < p.length; i++) {
    const code = p.charCodeAt(i);
    if (code === 0) return false;
    if (p[i] === '/' && p[i - 1] === '/') return false;
    if (p[i] === '.') {
      if (isRelativeSegmentAt(p, i)) return false;
      continue;
    }
    if (invalidChar(code)) return false;
  }
  return true;
}
