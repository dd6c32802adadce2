# An asyncio echo server on 127.0.0.1 and 100 concurrent clients.
import asyncio

async def handle(reader, writer):
    while data := await reader.read(1024):
        writer.write(data)
        await writer.drain()
    writer.close()

async def client(port, i):
    reader, writer = await asyncio.open_connection('127.0.0.1', port)
    msg = ('client %d ' % i).encode() * 50
    writer.write(msg)
    await writer.drain()
    got = await reader.readexactly(len(msg))
    writer.close()
    await writer.wait_closed()
    return got == msg

async def main():
    srv = await asyncio.start_server(handle, '127.0.0.1', 0)
    port = srv.sockets[0].getsockname()[1]
    results = await asyncio.gather(*(client(port, i) for i in range(100)))
    print('clients ok:', sum(results), 'of', len(results))
    srv.close()
    await srv.wait_closed()

asyncio.run(main())
