import { unwatchFile, watchFile, type Stats } from 'node:fs';

/**
 * Calls `onChange` when any of `files` changes (its modification time, inode or size). Polls with
 * stat, which follows symlinks, so it sees kubelet's atomic updates of ConfigMap and Secret volumes
 * (a `..data` symlink swapped to a new directory) that inotify on the file itself would miss. Used
 * for the config file and for the serving certificate and key.
 */
export function watchFiles(files: readonly string[], intervalMs: number, onChange: () => void): () => void {
  const listener = (current: Stats, previous: Stats) => {
    if (current.mtimeMs !== previous.mtimeMs || current.ino !== previous.ino || current.size !== previous.size) onChange();
  };
  for (const file of files) watchFile(file, { interval: intervalMs, persistent: false }, listener);
  return () => {
    for (const file of files) unwatchFile(file, listener);
  };
}
