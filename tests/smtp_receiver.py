"""A minimal SMTP server on 127.0.0.1 for tests: EHLO/HELO, MAIL, RCPT, DATA, QUIT.

It offers no STARTTLS and no AUTH, so a client speaking ``smtp://`` to it sends in the
clear, as it does to a local relay. Each message is kept as parsed by :mod:`email`.
"""

from __future__ import annotations

import socketserver
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage


class SmtpReceiver:
    """Records each message it is sent (``messages``) with its envelope (``envelopes``)."""

    def __init__(self, port: int = 0) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        receiver = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, line: str) -> None:
                self.wfile.write(line.encode("ascii") + b"\r\n")

            def handle(self) -> None:
                self.reply("220 127.0.0.1 test SMTP")
                sender, rcpts = "", []
                for raw in self.rfile:
                    verb = raw.decode("ascii", "replace").strip()
                    upper = verb.upper()
                    if upper.startswith(("EHLO", "HELO")):
                        self.reply("250 127.0.0.1")
                    elif upper.startswith("MAIL FROM:"):
                        sender, rcpts = verb[10:].strip(" <>"), []
                        self.reply("250 OK")
                    elif upper.startswith("RCPT TO:"):
                        rcpts.append(verb[8:].strip(" <>"))
                        self.reply("250 OK")
                    elif upper == "DATA":
                        self.reply("354 end with <CRLF>.<CRLF>")
                        lines = []
                        for data in self.rfile:
                            if data == b".\r\n":
                                break
                            lines.append(data[1:] if data.startswith(b"..") else data)
                        parsed = message_from_bytes(b"".join(lines), policy=policy.default)
                        receiver.messages.append(parsed)  # type: ignore[arg-type]
                        receiver.envelopes.append((sender, rcpts))
                        self.reply("250 OK queued")
                    elif upper == "QUIT":
                        self.reply("221 bye")
                        return
                    else:
                        self.reply("250 OK")

        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
