"""Where the router's log events go, as text or as JSON lines.

Every log call in the router is a twisted.logger event whose fields are its
subjects (user, connector, session, message_id, peer, ...), so the JSON form
needs nothing from the call sites: it is twisted.logger's own eventAsJSON,
one object per line (no RFC 7464 record separator: `jq`, Loki and Elastic's
shippers read lines), with the formatted message added as `log_text` and a
failure's traceback as `log_traceback`, so a reader need not re-format.

Passwords are never fields: binds log the system_id, not the PDU; the HTTP
face logs no requests. A message's text is a field only where the operator
turned on `[log] message_text` (message_text() below), since it is the
customers' content.
"""

import sys

from twisted.logger import (FileLogObserver, eventAsJSON, formatEvent,
                            textFileLogObserver)

from .smpp.errors import DecodeError
from .smpp.text import alphabet_of, decode_text

FORMATS = ("text", "json")


def _json_line(event) -> str:
    event = dict(event, log_text=formatEvent(event))
    failure = event.get("log_failure")
    if failure is not None:
        try:
            event["log_traceback"] = failure.getTraceback()
        except Exception:   # a Failure that cannot render still logs its event
            pass
    return eventAsJSON(event) + "\n"


def json_observer(out):
    """An ILogObserver writing each event to out as one JSON object per line."""
    return FileLogObserver(out, _json_line)


def observer(form, out):
    """The observer for a [log] format ("text" or "json") writing to out."""
    if form == "json":
        return json_observer(out)
    return textFileLogObserver(out)


def logfile(name):
    """twistd's --logfile: "-" or "" is standard output, else a file it rotates."""
    if name in (None, "", "-"):
        return sys.stdout
    from twisted.python.logfile import LogFile
    return LogFile.fromFullPath(name)


_twistd_logfile = None


def twistd_json(name, nodaemon=True):
    """The --logger value that makes twistd log JSON lines where it would log
    text: its --logfile name, else standard output with --nodaemon, else
    twistd.log (twistd calls the factory it names with no arguments)."""
    global _twistd_logfile
    _twistd_logfile = name or ("-" if nodaemon else "twistd.log")
    return __name__ + "._twistd_json_observer"


def _twistd_json_observer():
    return json_observer(logfile(_twistd_logfile))


def message_text(shown, body, data_coding=0):
    """{"text": the body as text} when shown ([log] message_text), else {}:
    the fields a log call about one message adds with **message_text(...)."""
    if not shown:
        return {}
    try:
        if alphabet_of(data_coding) != "binary":
            return {"text": decode_text(body, data_coding, errors="replace")}
    except DecodeError:
        pass
    return {"text": body.hex()}
