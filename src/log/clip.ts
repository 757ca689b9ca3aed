/** How much of one client-supplied value a log line (or an error text echoing it) carries. */
export const CLIPPED_VALUE_BYTES = 256;

/**
 * A value the client chose (user name, database, key, SQL text…) cut to `maxBytes` of UTF-8 for a log line, with
 * the length of what was cut off: `aaaa…(+1048320 bytes)`. Without it one login with a 1 MB user name wrote 2 MB
 * of log. The cut falls on a character boundary, so the result stays valid UTF-8.
 */
export function clip(value: string, maxBytes = CLIPPED_VALUE_BYTES): string {
  // A UTF-16 code unit is at most 3 bytes of UTF-8: short strings need no encoding at all.
  if (value.length * 3 <= maxBytes) return value;
  const head = Buffer.from(value.length > maxBytes ? value.slice(0, maxBytes + 1) : value, 'utf8');
  if (head.length <= maxBytes && value.length <= maxBytes) return value;
  let end = maxBytes;
  while (end > 0 && (head[end] & 0xc0) === 0x80) end--; // back to the first byte of a character
  return `${head.toString('utf8', 0, end)}…(+${Buffer.byteLength(value, 'utf8') - end} bytes)`;
}
