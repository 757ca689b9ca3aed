/** Byte-level mutations of a valid-looking payload: the edits that find length and bounds bugs in parsers. */
import type { Prng } from './prng.js';

/** Bytes that mean something in the protocol: NUL terminators, lenenc prefixes, OK/EOF/ERR headers. */
const INTERESTING = [0x00, 0x01, 0x7f, 0x80, 0xfb, 0xfc, 0xfd, 0xfe, 0xff];

export function mutate(r: Prng, input: Buffer, edits = 1 + r.int(4)): Buffer {
  let out = Buffer.from(input);
  for (let n = 0; n < edits; n++) {
    const at = r.int(out.length + 1);
    switch (r.int(7)) {
      case 0: // flip a bit
        if (out.length) out[at % out.length] ^= 1 << r.int(8);
        break;
      case 1: // an interesting byte
        if (out.length) out[at % out.length] = r.pick(INTERESTING);
        break;
      case 2: // truncate
        out = out.subarray(0, at);
        break;
      case 3: // insert random bytes
        out = Buffer.concat([out.subarray(0, at), r.bytes(1 + r.int(8)), out.subarray(at)]);
        break;
      case 4: // delete a run
        out = Buffer.concat([out.subarray(0, at), out.subarray(at + 1 + r.int(8))]);
        break;
      case 5: // duplicate a run
        out = Buffer.concat([out.subarray(0, at), out.subarray(at, at + 1 + r.int(16)), out.subarray(at)]);
        break;
      default: // random byte
        if (out.length) out[at % out.length] = r.int(256);
    }
  }
  return out;
}
