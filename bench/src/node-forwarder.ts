/**
 * The bench's "node" path: a bare TCP forwarder in Node with mysqlda's socket plumbing (both sockets read into a
 * reused buffer, back-pressure both ways) and no MySQL logic at all. Its cost is the floor for any proxy written
 * in Node on this machine; what mysqlda costs above it is mysqlda's own.
 *
 *   node build/bench/src/node-forwarder.js <listen-port> <target-port>     (both on 127.0.0.1)
 */
import net from 'node:net';
import { adoptReadBuffer, ReadBuffer } from '../../src/socket/read-buffer.js';

function splice(client: net.Socket, targetPort: number): void {
  const fromServer = new ReadBuffer();
  const fromClient = new ReadBuffer();
  const server = net.connect({ host: '127.0.0.1', port: targetPort, noDelay: true, onread: fromServer.onread });
  // A chunk still queued for the other side keeps its buffer: the next read goes into a fresh one.
  const relay = (to: net.Socket, from: net.Socket) => (chunk: Buffer) => {
    if (!to.write(chunk)) from.pause();
    return to.writableLength > 0;
  };
  fromServer.setReader(relay(client, server));
  fromClient.setReader(relay(server, client));
  client.on('drain', () => server.resume());
  server.on('drain', () => client.resume());
  if (!adoptReadBuffer(client, fromClient)) client.on('data', (chunk: Buffer) => fromClient.deliver(chunk, false));
  const end = () => {
    client.destroy();
    server.destroy();
    fromServer.release();
    fromClient.release();
  };
  for (const socket of [client, server]) {
    socket.on('error', end);
    socket.on('close', end);
  }
}

const [listenPort, targetPort] = process.argv.slice(2).map(Number);
if (!Number.isInteger(listenPort) || !Number.isInteger(targetPort)) {
  process.stderr.write('usage: node-forwarder.js <listen-port> <target-port>\n');
  process.exit(2);
}
net.createServer({ noDelay: true }, (client) => splice(client, targetPort)).listen(listenPort, '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
