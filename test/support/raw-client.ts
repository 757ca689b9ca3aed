import { BackendConnection } from '../../src/backend/backend-connection.js';
import { Capability, DEFAULT_CHARSET } from '../../src/protocol/constants.js';
import { encodePacket, PacketFramer } from '../../src/protocol/packet.js';
import { copyingReader } from '../../src/socket/read-buffer.js';

/**
 * A client that speaks raw packets to the proxy, for what drivers do not expose: pipelining many commands
 * in one write, COM_FIELD_LIST, COM_STATISTICS, cursors. It reuses mysqlda's own client-side handshake.
 */
export async function rawClient(port: number, capabilities = Capability.MULTI_RESULTS | Capability.MULTI_STATEMENTS | Capability.PS_MULTI_RESULTS) {
  const connection = await BackendConnection.connect(
    { host: '127.0.0.1', port, user: 'calvin', password: 'calvin', database: '', tls: null },
    { capabilities, charset: DEFAULT_CHARSET },
    5000,
  );
  return {
    connection,
    query: (sql: string) => connection.execute(Buffer.concat([Buffer.from([0x03]), Buffer.from(sql)])),
    command: (payload: Buffer) => connection.execute(payload),
    /** Writes every command at once, then collects `expectedPackets` response packets. */
    async pipeline(payloads: Buffer[], expectedPackets: number): Promise<Buffer[]> {
      const framer = new PacketFramer();
      const packets: Buffer[] = [];
      const socket = connection.socket;
      const done = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${packets.length} of ${expectedPackets} packets arrived`)), 10_000);
        connection.setReader(
          copyingReader((chunk) => {
            for (const packet of framer.push(chunk)) packets.push(packet.payload);
            if (packets.length >= expectedPackets) {
              clearTimeout(timer);
              resolve();
            }
          }),
        );
      });
      socket.resume();
      socket.write(Buffer.concat(payloads.map((payload) => encodePacket(payload, 0))));
      await done;
      connection.setReader(null);
      socket.pause();
      return packets;
    },
    close: () => connection.close(),
  };
}

export const query = (sql: string) => Buffer.concat([Buffer.from([0x03]), Buffer.from(sql)]);
