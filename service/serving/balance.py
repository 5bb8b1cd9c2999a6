"""Least-connections accepting for ``vigil serve --workers N``.

The HTTP processes share one listening socket. A process takes a waiting connection only while
it holds no more connections than any other process (each publishes its count in a small shared
array), so a client's keep-alive pool is spread evenly instead of by chance: with the kernel
choosing (``SO_REUSEPORT`` hashes addresses, a shared socket wakes whoever is first) four
connections often landed three or four on one process while another core idled. A process whose
turn it is not waits a moment and looks again; after a few looks it takes the connection anyway,
so one that is slow to answer (or gone) never holds a connection back for long (20 ms at most).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import select
import socket
import sys
from typing import Any

from uvicorn import Config, Server
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors.multiprocess import Process

log = logging.getLogger(__name__)

GONE = 1 << 30  # the count of a process that died: never the least loaded
_LOOK_AGAIN_S = 0.002
_MOST_LOOKS = 10  # then take it anyway (20 ms)


def shared_counts(processes: int) -> Any:
    """The array the processes publish their open connections in (inherited at spawn)."""
    return multiprocessing.get_context("spawn").RawArray("i", processes)


class BalancedProcess(Process):
    """uvicorn's supervised process, serving with a ``BalancedServer``."""

    def __init__(self, config: Config, sock: socket.socket, counts: Any, index: int) -> None:
        super().__init__(config, [sock])
        self.counts = counts
        self.index = index
        counts[index] = GONE  # until it serves: a process still starting is never the least loaded

    @property
    def server(self) -> Server:
        if self._server is None:
            self._server = BalancedServer(self.config, self.counts, self.index)
        return self._server


class BalancedServer(Server):
    def __init__(self, config: Config, counts: Any, index: int) -> None:
        super().__init__(config)
        self.counts = counts
        self.index = index
        self.acceptors: list[_Acceptor] = []

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await self.lifespan.startup()
        if self.lifespan.should_exit:
            sys.exit(STARTUP_FAILURE)
        loop = asyncio.get_running_loop()
        config = self.config

        def protocol() -> asyncio.Protocol:
            return config.http_protocol_class(  # type: ignore[call-arg]
                config=config, server_state=self.server_state, app_state=self.lifespan.state, _loop=loop
            )

        self.servers = []
        self.publish()
        self.acceptors = [_Acceptor(self, loop, sock, protocol) for sock in sockets or []]
        for acceptor in self.acceptors:
            acceptor.start()
        self.started = True

    def publish(self, pending: int = 0) -> int:
        """Publish this process's open connections; returns the count."""
        mine = len(self.server_state.connections) + pending
        self.counts[self.index] = mine
        return mine

    def least_loaded(self, pending: int) -> bool:
        mine = self.publish(pending)
        others = [c for i, c in enumerate(self.counts) if i != self.index]
        return not others or mine <= min(others)

    async def on_tick(self, counter: int) -> bool:
        self.publish(sum(a.pending for a in self.acceptors))  # connections closed since
        return await super().on_tick(counter)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for acceptor in self.acceptors:
            acceptor.close()
        self.counts[self.index] = GONE
        await super().shutdown(sockets)


class _Acceptor:
    """Accepts from one listening socket on this process's turn, one connection at a time."""

    def __init__(
        self, server: BalancedServer, loop: asyncio.AbstractEventLoop, sock: socket.socket, protocol: Any
    ) -> None:
        self.server, self.loop, self.sock, self.protocol = server, loop, sock, protocol
        self.pending = 0  # accepted, not yet handed to the protocol
        self.looks = 0
        self.closed = False
        self.waiting: asyncio.TimerHandle | None = None
        self.adopting: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        if self.closed:
            return
        if self.looks and not select.select([self.sock], [], [], 0)[0]:
            self.looks = 0  # another process took the connection we were looking at
        self.sock.setblocking(False)
        self.loop.add_reader(self.sock.fileno(), self._readable)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.waiting is not None:
            self.waiting.cancel()
        self.loop.remove_reader(self.sock.fileno())

    def _readable(self) -> None:
        if not self.server.least_loaded(self.pending) and self.looks < _MOST_LOOKS:
            self.looks += 1  # another process has fewer: give it the chance to take this one
            self.loop.remove_reader(self.sock.fileno())
            self.waiting = self.loop.call_later(_LOOK_AGAIN_S, self.start)
            return
        self.looks = 0
        try:
            conn, _ = self.sock.accept()
        except (BlockingIOError, InterruptedError):
            return  # another process took it
        except OSError as exc:  # e.g. out of file descriptors: pause rather than spin
            log.warning("accepting a connection failed: %s; pausing for a second", exc)
            self.loop.remove_reader(self.sock.fileno())
            self.waiting = self.loop.call_later(1.0, self.start)
            return
        conn.setblocking(False)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.pending += 1
        self.server.publish(self.pending)
        task = self.loop.create_task(self._adopt(conn))
        self.adopting.add(task)
        task.add_done_callback(self.adopting.discard)

    async def _adopt(self, conn: socket.socket) -> None:
        try:
            await self.loop.connect_accepted_socket(self.protocol, conn)
        except OSError as exc:
            log.info("a connection closed before it was served: %s", exc)
            conn.close()
        finally:
            self.pending -= 1
