/**
 * ZooKeeper's path rules, exactly as the Java client's PathUtils.validatePath applies them
 * (UTF-16 code units, so a surrogate pair is refused as ZooKeeper refuses it).
 */

/** Returns why `path` is invalid, or undefined when it is a valid znode path. */
export function pathError(path: string): string | undefined {
  if (path.length === 0) return 'path must not be empty';
  if (path.charCodeAt(0) !== 0x2f) return 'path must start with /';
  if (path.length === 1) return undefined;
  if (path.charCodeAt(path.length - 1) === 0x2f) return 'path must not end with /';
  let last = 0x2f;
  for (let i = 1; i < path.length; last = path.charCodeAt(i), i++) {
    const c = path.charCodeAt(i);
    if (c === 0) return `null character not allowed at ${i}`;
    if (c === 0x2f && last === 0x2f) return `empty node name at ${i}`;
    const segmentEnds = i + 1 === path.length || path.charCodeAt(i + 1) === 0x2f;
    if (c === 0x2e && last === 0x2e && path.charCodeAt(i - 2) === 0x2f && segmentEnds) {
      return `relative paths not allowed at ${i}`;
    }
    if (c === 0x2e && last === 0x2f && segmentEnds) return `relative paths not allowed at ${i}`;
    if (isForbiddenChar(c)) return `invalid character at ${i}`;
  }
  return undefined;
}

function isForbiddenChar(c: number): boolean {
  return (
    (c > 0x00 && c <= 0x1f) ||
    (c >= 0x7f && c <= 0x9f) ||
    (c >= 0xd800 && c <= 0xf8ff) ||
    (c >= 0xfff0 && c <= 0xffff)
  );
}

/** The parent of a valid non-root path ("/a/b" → "/a", "/a" → "/"). */
export function parentOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash <= 0 ? '/' : path.slice(0, slash);
}

/** The last segment of a valid non-root path. */
export function nameOf(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** Joins a parent path and a child name. */
export function childPath(parent: string, name: string): string {
  return parent === '/' ? `/${name}` : `${parent}/${name}`;
}

/** ZooKeeper's sequential suffix: the parent's creation counter, zero-padded to 10 digits. */
export function sequentialSuffix(counter: number): string {
  // ZooKeeper formats a signed int with %010d; past 2^31-1 it goes negative, which we mirror.
  const n = counter | 0;
  return n < 0 ? `-${String(-n).padStart(9, '0')}` : String(n).padStart(10, '0');
}

/** Whether `path` is `ancestor` itself or lies below it. */
export function isWithin(path: string, ancestor: string): boolean {
  if (ancestor === '/') return true;
  return path === ancestor || path.startsWith(`${ancestor}/`);
}
