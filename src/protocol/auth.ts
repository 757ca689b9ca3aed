import { createHash, randomFillSync, timingSafeEqual } from 'node:crypto';

export const NATIVE_PASSWORD_PLUGIN = 'mysql_native_password';
export const CACHING_SHA2_PLUGIN = 'caching_sha2_password';

/** CSPRNG bytes fetched 4 KB at a time (one call per ~200 logins, not one per login); each byte is used once. */
const randomPool = Buffer.allocUnsafe(4000);
let randomOffset = randomPool.length;

const SCRAMBLE_LENGTH = 20;
const DOLLAR = 0x24;

/**
 * The scramble byte a random byte stands for, or -1 when it must be drawn again. The low 7 bits are uniform over
 * 0..127; NUL (some clients treat the scramble as a C string) and '$' (MySQL's own generate_user_salt leaves it
 * out, as a crypt-format delimiter) are rejected rather than folded onto a neighbour, so the 126 values that
 * remain stay equally likely.
 */
export function scrambleByte(random: number): number {
  const value = random & 0x7f;
  return value === 0 || value === DOLLAR ? -1 : value;
}

/** A fresh 20-byte scramble from the CSPRNG, uniform over the bytes scrambleByte allows. */
export function generateScramble(): Buffer {
  const bytes = Buffer.allocUnsafe(SCRAMBLE_LENGTH);
  for (let filled = 0; filled < SCRAMBLE_LENGTH; ) {
    if (randomOffset === randomPool.length) {
      randomFillSync(randomPool);
      randomOffset = 0;
    }
    const value = scrambleByte(randomPool[randomOffset++]);
    if (value !== -1) bytes[filled++] = value;
  }
  return bytes;
}

function sha1(...parts: Buffer[]): Buffer {
  const hash = createHash('sha1');
  for (const part of parts) hash.update(part);
  return hash.digest();
}

function sha256(...parts: Buffer[]): Buffer {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
}

function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.allocUnsafe(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] ^ b[i % b.length];
  return out;
}

/** SHA1(SHA1(password)): what MySQL stores for mysql_native_password (as hex after a '*' in mysql.user). */
export function nativePasswordHash(password: string): Buffer {
  return sha1(sha1(Buffer.from(password, 'utf8')));
}

/** The '*' + 40 upper-case hex form MySQL shows for a mysql_native_password hash (SELECT PASSWORD('x')). */
export function nativePasswordHashText(password: string): string {
  return '*' + nativePasswordHash(password).toString('hex').toUpperCase();
}

/** Parses the '*' + 40 hex form of a stored mysql_native_password hash. */
export function parseNativePasswordHash(text: string): Buffer | null {
  const match = /^\*([0-9a-fA-F]{40})$/.exec(text);
  return match ? Buffer.from(match[1], 'hex') : null;
}

/** The client's mysql_native_password token: SHA1(pw) XOR SHA1(scramble ‖ SHA1(SHA1(pw))). Empty for an empty password. */
export function nativePasswordToken(password: string, scramble: Buffer): Buffer {
  if (password === '') return Buffer.alloc(0);
  const stage1 = sha1(Buffer.from(password, 'utf8'));
  return xor(stage1, sha1(scramble.subarray(0, 20), sha1(stage1)));
}

/** Checks a mysql_native_password token against the stored double-SHA1, in constant time. */
export function verifyNativePassword(token: Buffer, scramble: Buffer, storedHash: Buffer | null): boolean {
  if (storedHash === null) return token.length === 0; // account without a password
  if (token.length !== 20) return false;
  const stage1 = xor(token, sha1(scramble.subarray(0, 20), storedHash));
  return timingSafeEqual(sha1(stage1), storedHash);
}

/** The client's caching_sha2_password fast-path token: SHA256(pw) XOR SHA256(SHA256(SHA256(pw)) ‖ scramble). */
export function cachingSha2Token(password: string, scramble: Buffer): Buffer {
  if (password === '') return Buffer.alloc(0);
  const stage1 = sha256(Buffer.from(password, 'utf8'));
  return xor(stage1, sha256(sha256(stage1), scramble.subarray(0, 20)));
}

/** SHA256(SHA256(password)): what caching_sha2_password's fast path checks a token against. */
export function cachingSha2Digest(password: string): Buffer {
  return sha256(sha256(Buffer.from(password, 'utf8')));
}

/** Checks a caching_sha2_password fast-path token against SHA256(SHA256(password)), in constant time. */
export function verifyCachingSha2Token(token: Buffer, scramble: Buffer, digest: Buffer): boolean {
  if (token.length !== 32) return false;
  // The token unmasks to SHA256(password), whose SHA256 is the digest.
  const stage1 = xor(token, sha256(digest, scramble.subarray(0, 20)));
  return timingSafeEqual(sha256(stage1), digest);
}

/** Checks a password sent in full (over TLS, or RSA-decrypted) against the stored double SHA1. */
export function verifyCleartextPassword(password: string, storedHash: Buffer | null): boolean {
  if (storedHash === null) return password === '';
  return timingSafeEqual(nativePasswordHash(password), storedHash);
}

/**
 * The client's token for `plugin` with this scramble (mysql_native_password or caching_sha2_password's fast path);
 * null for a plugin mysqlda does not speak as a client.
 */
export function clientAuthToken(plugin: string, password: string, scramble: Buffer): Buffer | null {
  if (plugin === NATIVE_PASSWORD_PLUGIN) return nativePasswordToken(password, scramble);
  if (plugin === CACHING_SHA2_PLUGIN) return cachingSha2Token(password, scramble);
  return null;
}

/** The client's XOR of "password\0" with the scramble, which it then RSA-encrypts (caching_sha2 full auth). */
export function scramblePassword(password: string, scramble: Buffer): Buffer {
  return xor(Buffer.from(password + '\0', 'utf8'), scramble.subarray(0, 20));
}

/** Undoes the client's XOR of "password\0" with the scramble (caching_sha2 full auth over RSA). */
export function unscramblePassword(decrypted: Buffer, scramble: Buffer): string {
  const plain = xor(decrypted, scramble.subarray(0, 20));
  const nul = plain.indexOf(0);
  return plain.subarray(0, nul === -1 ? plain.length : nul).toString('utf8');
}
