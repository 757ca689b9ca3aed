/** One session as status, /sessions and the metrics see it (ClientSession.summary). */
export interface SessionSummary {
  id: number;
  client: string;
  user: string | null;
  library: string | null;
  key: string | null;
  server: string | null;
  startedAt: number;
  bytesFromClient: number;
  bytesToClient: number;
}
