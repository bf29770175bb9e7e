"""A small HTTP server on 127.0.0.1 for the harvest tests: each path answers what the test put there, and a
fake OAI-PMH repository whose records, page size and errors the test controls."""
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape


class CannedServer:
    def __init__(self):
        self.routes = {}  # path → function(handler, query) that writes the answer
        self.requests = []  # (path, query, headers) in the order they came
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.canned = self
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return self.server.server_port

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def reply(self, path: str, body: bytes, *, status: int = 200, headers: dict | None = None) -> None:
        self.routes[path] = lambda handler, query: send(handler, body, status=status, headers=headers)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def send(handler, body: bytes, *, status: int = 200, headers: dict | None = None, length: bool = True) -> None:
    handler.send_response(status)
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    if length:
        handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def drip(handler, query, *, pause: float = 0.1, seconds: float = 20) -> None:
    """A body that never ends in time: a byte at a time (no Content-Length, HTTP/1.0: it ends when closed)."""
    handler.send_response(200)
    handler.send_header("Content-Type", "text/xml")
    handler.end_headers()
    until = time.monotonic() + seconds
    try:
        while time.monotonic() < until:
            handler.wfile.write(b" ")
            handler.wfile.flush()
            time.sleep(pause)
    except OSError:  # the client hung up, as it should
        pass


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        parts = urlsplit(self.path)
        query = {name: values[0] for name, values in parse_qs(parts.query).items()}
        self.server.canned.requests.append((parts.path, query, dict(self.headers)))
        route = self.server.canned.routes.get(parts.path)
        if route is None:
            send(self, b"not here", status=404)
        else:
            route(self, query)

    def log_message(self, *args):  # quiet
        pass


# --- a fake OAI-PMH repository -------------------------------------------------------------------------

@dataclass
class FakeRecord:
    number: int
    datestamp: str
    title: str = ""
    url: str = ""
    category: str = ""
    deleted: bool = False

    @property
    def identifier(self) -> str:
        return f"oai:fake.example:{self.number}"


class FakeRepository:
    """ListRecords and Identify over ``records``, ``page_size`` a page, ``from`` honoured (datestamps to the second)."""

    def __init__(self, records: list[FakeRecord], page_size: int = 2, prefix: str = "nsr"):
        self.records, self.page_size, self.prefix = records, page_size, prefix
        self.broken_page = None  # (page number, body) served instead of that page

    def __call__(self, handler, query):
        if query.get("verb") == "Identify":
            return send(handler, envelope("<Identify><repositoryName>fake</repositoryName>"
                                          "<granularity>YYYY-MM-DDThh:mm:ssZ</granularity></Identify>"))
        if "resumptionToken" in query:
            since, start = query["resumptionToken"].split("|")
            start = int(start)
        else:
            since, start = query.get("from", ""), 0
        chosen = [record for record in self.records if record.datestamp >= since]
        if not chosen:
            return send(handler, envelope('<error code="noRecordsMatch">none</error>'))
        page_number = start // self.page_size + 1
        if self.broken_page and self.broken_page[0] == page_number:
            return send(handler, self.broken_page[1])
        page = chosen[start:start + self.page_size]
        token = ""
        if start + self.page_size < len(chosen):
            token = f"<resumptionToken>{since}|{start + self.page_size}</resumptionToken>"
        return send(handler, envelope("<ListRecords>" + "".join(map(self.record_xml, page)) + token
                                      + "</ListRecords>"), headers={"Content-Type": "text/xml"})

    def record_xml(self, record: FakeRecord) -> str:
        status = ' status="deleted"' if record.deleted else ""
        header = (f"<header{status}><identifier>{record.identifier}</identifier>"
                  f"<datestamp>{record.datestamp}</datestamp></header>")
        if record.deleted:
            return f"<record>{header}</record>"
        if self.prefix == "nsr":
            metadata = (f'<nsr:resource xmlns:nsr="urn:reslib:nsr:2022"><nsr:title>{escape(record.title)}</nsr:title>'
                        f"<nsr:url>{escape(record.url)}</nsr:url><nsr:category>{escape(record.category)}</nsr:category>"
                        f"<nsr:created>2024-03-01</nsr:created><nsr:typeCode>A03</nsr:typeCode></nsr:resource>")
        else:
            metadata = ('<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
                        'xmlns:dc="http://purl.org/dc/elements/1.1/">'
                        f"<dc:title>{escape(record.title)}</dc:title><dc:subject>{escape(record.category)}</dc:subject>"
                        f"<dc:identifier>{escape(record.url)}</dc:identifier><dc:date>2024-03-01</dc:date></oai_dc:dc>")
        return f"<record>{header}<metadata>{metadata}</metadata></record>"


def envelope(inner: str) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8"?><OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'
            f"<responseDate>2026-12-08T00:00:00Z</responseDate><request>x</request>{inner}</OAI-PMH>").encode()
