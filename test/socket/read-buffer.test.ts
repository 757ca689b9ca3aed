import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { adoptReadBuffer, canAdoptReadBuffer, copyingReader, ReadBuffer } from '../../src/socket/read-buffer.js';

/** A loopback TCP pair: `accepted` is the server side, as net.Server hands it over. */
async function socketPair(): Promise<{ client: net.Socket; accepted: net.Socket; close: () => void }> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const acceptedPromise = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
  const client = net.connect(port, '127.0.0.1');
  const accepted = await acceptedPromise;
  await new Promise<void>((resolve) => (client.connecting ? client.once('connect', () => resolve()) : resolve()));
  return {
    client,
    accepted,
    close: () => {
      client.destroy();
      accepted.destroy();
      server.close();
    },
  };
}

/** Sends one chunk and waits until the reader has seen that many bytes. */
function sendAndRead(from: net.Socket, bytes: Buffer, seen: () => number, target: number): Promise<void> {
  from.write(bytes);
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + 5000;
    const poll = () => (seen() >= target ? resolve() : Date.now() > deadline ? reject(new Error('no data')) : setTimeout(poll, 2));
    poll();
  });
}

describe('reused socket read buffer', () => {
  let close = () => {};
  afterEach(() => close());

  it('is available on the Node this project runs on (the splice would silently fall back to data events)', () => {
    expect(canAdoptReadBuffer()).toBe(true);
  });

  it('reads an accepted socket into one buffer, read after read, and no data events are emitted', async () => {
    const pair = await socketPair();
    close = pair.close;
    const input = new ReadBuffer();
    const backing = new Set<ArrayBufferLike>();
    let text = '';
    input.setReader((chunk) => {
      backing.add(chunk.buffer);
      text += chunk.toString('latin1');
      return false;
    });
    let dataEvents = 0;
    pair.accepted.on('data', () => dataEvents++);
    expect(adoptReadBuffer(pair.accepted, input)).toBe(true);
    pair.accepted.resume();
    await sendAndRead(pair.client, Buffer.from('first'), () => text.length, 5);
    await sendAndRead(pair.client, Buffer.from('second'), () => text.length, 11);
    expect(text).toBe('firstsecond');
    expect(backing.size).toBe(1);
    expect(dataEvents).toBe(0);
  });

  it('reads into a fresh buffer after a reader kept its chunk, so the kept bytes are never overwritten', async () => {
    const pair = await socketPair();
    close = pair.close;
    const input = new ReadBuffer();
    const kept: Buffer[] = [];
    input.setReader((chunk) => {
      kept.push(chunk);
      return true;
    });
    expect(adoptReadBuffer(pair.accepted, input)).toBe(true);
    pair.accepted.resume();
    await sendAndRead(pair.client, Buffer.from('aaaa'), () => kept.length, 1);
    await sendAndRead(pair.client, Buffer.from('bbbb'), () => kept.length, 2);
    expect(kept.map((chunk) => chunk.toString())).toEqual(['aaaa', 'bbbb']);
    expect(kept[0].buffer).not.toBe(kept[1].buffer);
  });

  it('in scratch mode hands out copies, shares one buffer between sockets, and reads into its own after ownBuffer()', async () => {
    const pairs = [await socketPair(), await socketPair()];
    close = () => pairs.forEach((pair) => pair.close());
    const seen: { text: string; borrowed: boolean }[] = [];
    const inputs = pairs.map(() => new ReadBuffer().readIntoScratch());
    for (const input of inputs) {
      input.setReader((chunk, borrowed) => {
        seen.push({ text: chunk.toString('latin1'), borrowed });
        return borrowed; // keeps what it may keep: the copies, never the scratch buffer
      });
    }
    pairs.forEach((pair, i) => {
      expect(adoptReadBuffer(pair.accepted, inputs[i])).toBe(true);
      pair.accepted.resume();
    });
    expect(inputs[0].onread.buffer()).toBe(inputs[1].onread.buffer());
    await sendAndRead(pairs[0].client, Buffer.from('one'), () => seen.length, 1);
    await sendAndRead(pairs[1].client, Buffer.from('two'), () => seen.length, 2);
    inputs[0].ownBuffer();
    // This read still lands in the scratch buffer, handed to the socket after its last read: it is copied too.
    await sendAndRead(pairs[0].client, Buffer.from('three'), () => seen.length, 3);
    await sendAndRead(pairs[0].client, Buffer.from('four'), () => seen.length, 4);
    expect(seen).toEqual([
      { text: 'one', borrowed: false },
      { text: 'two', borrowed: false },
      { text: 'three', borrowed: false },
      { text: 'four', borrowed: true },
    ]);
  });

  it('keeps copies of bytes that arrive while no reader is set, for the next reader', () => {
    const input = new ReadBuffer();
    const view = input.onread.buffer();
    view.write('early', 0, 'latin1');
    input.onread.callback(5, view);
    view.write('XXXXX', 0, 'latin1'); // the next read overwrites the buffer
    const seen: string[] = [];
    input.setReader(copyingReader((chunk) => seen.push(chunk.toString('latin1'))));
    expect(seen).toEqual(['early']);
  });

  it('leaves a socket with bytes already buffered on data events', async () => {
    const pair = await socketPair();
    close = pair.close;
    pair.accepted.pause();
    pair.client.write('pending');
    await new Promise<void>((resolve) => pair.accepted.once('readable', () => resolve()));
    expect(adoptReadBuffer(pair.accepted, new ReadBuffer())).toBe(false);
    expect(pair.accepted.read()?.toString()).toBe('pending');
  });
});
