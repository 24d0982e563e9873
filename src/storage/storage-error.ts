/** The file is damaged or inconsistent: the node refuses to start rather than serve a wrong tree. */
export class StorageCorruptError extends Error {
  override readonly name = 'StorageCorruptError';
}
