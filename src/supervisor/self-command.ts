/**
 * How mysqlda runs itself again: the supervisor and its worker are the same program as the `mysqlda` command,
 * started with an internal `--daemon-role`. Under node that is `node <bin/mysqlda>`; the single executable is
 * its own interpreter and needs no script (its entry point passes that in).
 */
export interface SelfCommand {
  file: string;
  args: string[];
}

/** `node bin/mysqlda` as this process was started (process.argv[1] is the bin script). */
export function nodeSelfCommand(): SelfCommand {
  const script = process.argv[1];
  return { file: process.execPath, args: script === undefined ? [] : [script] };
}

/** The single executable: it runs its embedded program whatever its arguments are. */
export function singleExecutableSelfCommand(): SelfCommand {
  return { file: process.execPath, args: [] };
}
