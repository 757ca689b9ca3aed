/**
 * What a core-object key, a correl object and a correl class may look like. One home for these rules: the
 * extension-SQL parser, the save-file loader and the durable directory all ask here.
 *
 * Keys and objects are UTF-8 text of 1..64 bytes (mysqlda's limit) without whitespace or control characters, because
 * they are stored as whitespace-separated tokens of a line-based file (mysqlda.save): a key that could hold a newline
 * or a space could forge or break records (behaviour §7.3). Class names become part of a file name
 * (`mysqlda.<class>.save`), so they are restricted further to `[A-Za-z0-9_-]`.
 */

export const MAX_IDENTIFIER_BYTES = 64;

/** The names used in messages: `key is longer than 64 bytes`, `object contains whitespace`. */
export type ValueRole = 'key' | 'object';

/**
 * Why `value` cannot be used as a key or correl object, or undefined when it can.
 * `knownByteLength` skips the UTF-8 length computation when the caller has it already (the loader does).
 */
export function valueProblem(value: string, role: ValueRole, knownByteLength?: number): string | undefined {
  if (value.length === 0) return `${role} is empty`;
  // Each UTF-16 unit is at least one UTF-8 byte, so a long string is too long without counting.
  const bytes = value.length > MAX_IDENTIFIER_BYTES ? Infinity : (knownByteLength ?? Buffer.byteLength(value, 'utf8'));
  if (bytes > MAX_IDENTIFIER_BYTES) return `${role} is longer than ${MAX_IDENTIFIER_BYTES} bytes`;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c > 0x20 && c < 0x7f) continue; // printable ASCII: the common case
    if (c < 0x20 || c === 0x7f || (c >= 0x80 && c <= 0x9f)) return `${role} contains a control character`;
    if (isWhitespaceCode(c)) return `${role} contains whitespace`;
    if (c === 0xfffd) return `${role} is not valid UTF-8`; // lossy decoding would make distinct keys collide
    if (c >= 0xd800 && c <= 0xdfff) {
      const next = value.charCodeAt(i + 1);
      if (c >= 0xdc00 || !(next >= 0xdc00 && next <= 0xdfff)) return `${role} is not valid UTF-8`;
      i++; // a well-formed surrogate pair
    }
  }
  return undefined;
}

/** Why `name` cannot be a correl class, or undefined when it can. */
export function classProblem(name: string): string | undefined {
  if (name.length === 0) return 'class is empty';
  if (name.length > MAX_IDENTIFIER_BYTES) return `class is longer than ${MAX_IDENTIFIER_BYTES} bytes`;
  for (let i = 0; i < name.length; i++) {
    if (!isClassCode(name.charCodeAt(i))) return "class may contain only letters, digits, '_' and '-'";
  }
  return undefined;
}

function isClassCode(c: number): boolean {
  return (
    (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f || c === 0x2d
  );
}

/** Unicode White_Space outside ASCII (ASCII whitespace is space or a control character, handled by the caller). */
function isWhitespaceCode(c: number): boolean {
  return (
    c === 0x20 || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 ||
    c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff
  );
}
