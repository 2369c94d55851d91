"""A TCP proxy in threads between a worker and its database, that a test switches off (every
connection cut, new ones refused) and on again: the database unreachable, the server untouched."""

from __future__ import annotations

import contextlib
import socket
import threading
from types import TracebackType

_CHUNK = 65536


class SwitchableProxy:
    """Forwards `127.0.0.1:{port}` to `target`; `off()` cuts it, `on()` restores it (same port)."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._accepting: threading.Thread | None = None
        self.port = 0
        #: Client connections accepted while on (a reconnecting pool shows here).
        self.connections = 0

    @property
    def is_on(self) -> bool:
        return self._listener is not None

    def on(self) -> None:
        """Listen (on the same port as before, if any) and forward new connections."""
        if self._listener is not None:
            return
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        listener.settimeout(0.05)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._accepting = threading.Thread(
            target=self._accept, args=(listener,), name="db-proxy", daemon=True
        )
        self._accepting.start()

    def off(self) -> None:
        """Stop listening (connects are refused) and cut every open connection."""
        listener, self._listener = self._listener, None
        if listener is None:
            return
        assert self._accepting is not None
        self._accepting.join(timeout=5)
        listener.close()
        with self._lock:
            cut, self._sockets = list(self._sockets), set()
        for sock in cut:
            _close(sock)

    def close(self) -> None:
        self.off()

    def __enter__(self) -> SwitchableProxy:
        self.on()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _accept(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(self._target, timeout=5)
            except OSError:
                _close(client)
                continue
            client.settimeout(None)
            upstream.settimeout(None)
            with self._lock:
                if self._listener is not listener:  # switched off meanwhile
                    _close(client)
                    _close(upstream)
                    return
                self._sockets.update((client, upstream))
                self.connections += 1
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(_CHUNK):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._sockets.discard(src)
                self._sockets.discard(dst)
            _close(src)
            _close(dst)


def _close(sock: socket.socket) -> None:
    """Shut down (wakes a thread blocked in recv) and close; never raises."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


__all__ = ["SwitchableProxy"]
