"""An SMTP server for the tests (aiosmtpd, Debian's python3-aiosmtpd).

Each message it accepts is parsed by Python's own email package and written to FOLDER/N.json:
envelope, when it had the whole message (received_at, Unix time), whether TLS and AUTH were used, headers, decoded subject, body, the raw bytes.
Options: --cert/--key offer STARTTLS (and require it before MAIL), or with --implicit-tls speak TLS
from the first byte (SMTPS, port 465's way); --no-ehlo answers EHLO 502 (a server that knows only
HELO); --user/--password offer AUTH
(PLAIN and LOGIN; --login-only offers LOGIN alone) and require it; --reject ADDRESS answers 550 to
RCPT TO that address. Prints "ready" once it accepts connections; runs until SIGTERM.
"""
import argparse
import email
import email.policy
import json
import os
import signal
import ssl
import sys
import threading
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--folder", required=True)
parser.add_argument("--cert")
parser.add_argument("--key")
parser.add_argument("--user")
parser.add_argument("--password")
parser.add_argument("--login-only", action="store_true")
parser.add_argument("--implicit-tls", action="store_true")
parser.add_argument("--no-ehlo", action="store_true")
parser.add_argument("--reject", action="append", default=[])
options = parser.parse_args()
# A test runner may start us with SIGTERM blocked (the mask is inherited): take it back.
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})


class Sink:
    def __init__(self):
        self.count = 0
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in options.reject:
            return "550 5.1.1 unknown user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        received_at = time.time()
        raw = envelope.original_content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        login = getattr(session.auth_data, "login", None)
        record = {
            "received_at": received_at,
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "tls": session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None,
            "authenticated": bool(session.authenticated),
            "extended_smtp": bool(session.extended_smtp),
            "auth_login": login.decode() if login else None,
            "headers": [[name, str(value)] for name, value in message.items()],
            "subject": str(message["subject"]),
            "content_type": message.get_content_type(),
            "charset": message.get_content_charset(),
            "transfer_encoding": message["content-transfer-encoding"],
            "body": message.get_content(),
            "raw": raw.decode("latin-1"),
        }
        with self.lock:
            self.count += 1
            name = os.path.join(options.folder, f"{self.count}.json")
        with open(name + ".tmp", "w") as file:
            json.dump(record, file)
        os.rename(name + ".tmp", name)
        return "250 2.0.0 queued"


def authenticate(server, session, envelope, mechanism, data):
    ok = data.login.decode() == options.user and data.password.decode() == options.password
    return AuthResult(success=True, auth_data=data) if ok else AuthResult(success=False, handled=False)


class HeloOnly(SMTP):
    async def smtp_EHLO(self, hostname):
        await self.push("502 5.5.2 Error: command not recognized")


class SinkController(Controller):
    def factory(self):
        return (HeloOnly if options.no_ehlo else SMTP)(self.handler, **self.SMTP_kwargs)


parameters = {"server_hostname": "localhost", "auth_require_tls": bool(options.cert) and not options.implicit_tls}
if options.cert:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(options.cert, options.key)
    if options.implicit_tls:
        parameters.update(ssl_context=context)
    else:
        parameters.update(tls_context=context, require_starttls=True)
if options.user:
    parameters.update(authenticator=authenticate, auth_required=True)
    if options.login_only:
        parameters["auth_exclude_mechanism"] = ["PLAIN"]

controller = SinkController(Sink(), hostname="127.0.0.1", port=options.port, **parameters)
controller.start()
print("ready", flush=True)
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
while not stop.wait(0.2):
    pass
controller.stop()
sys.exit(0)
