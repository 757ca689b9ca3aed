"""
A client with a 4 KB receive buffer that pipelines N small statements in one write and reads the answers slowly.
Node cannot shrink a socket's receive buffer, Python can: with it, the proxy's writes to this client go partial
while the answers are still small chunks, the case where a queued chunk must not be overwritten by the next read
(src/socket/read-buffer.ts). Prints "ok <answers>" or the first answer that differs, and exits 1 then.

usage: slow-pipeliner.py PORT USER PASSWORD DATABASE STATEMENTS
"""
import hashlib
import socket
import struct
import sys
import threading
import time

import pymysql

port, user, password, database, statements = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
sock.connect(('127.0.0.1', port))
conn = pymysql.connect(host='127.0.0.1', port=port, user=user, password=password, database=database, defer_connect=True)
conn.connect(sock)
conn.cursor().execute('select library slow-pipeliner')


def packet(payload):
    return struct.pack('<I', len(payload))[:3] + b'\0' + payload


def answer(i):
    text = f"{i}:{hashlib.md5(str(i).encode()).hexdigest() * 6}".encode()
    return bytes([len(text)]) + text  # under 251 bytes: a one-byte length


commands = b''.join(packet(b'\x03' + f"select concat('{i}:', repeat(md5({i}), 6))".encode()) for i in range(statements))
threading.Thread(target=lambda: sock.sendall(commands), daemon=True).start()

# Without DEPRECATE_EOF each answer is: column count, a column definition, EOF, the row, EOF.
pending, rows, eofs, reads = b'', [], 0, 0
while eofs < 2 * statements:
    chunk = sock.recv(1024)
    if not chunk:
        sys.exit(f'the proxy closed the connection after {len(rows)} answers')
    pending += chunk
    while len(pending) >= 4:
        length = pending[0] | pending[1] << 8 | pending[2] << 16
        if len(pending) < 4 + length:
            break
        payload, pending = pending[4:4 + length], pending[4 + length:]
        if payload[0] == 0xfe and len(payload) < 9:
            eofs += 1
        elif eofs % 2 == 1:
            rows.append(payload)
    reads += 1
    if reads % 20 == 0:
        time.sleep(0.002)

for i, row in enumerate(rows):
    if row != answer(i):
        sys.exit(f'answer {i} differs: {row[:60]!r}')
print('ok', len(rows))
